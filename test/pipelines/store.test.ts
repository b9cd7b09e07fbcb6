import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createPipelineStore, type PipelineStore } from '../../src/pipelines/store.js';
import { createPipelineScheduler, dueFireTime } from '../../src/pipelines/triggers.js';
import { type MetadataDb, openMetadataDb, type PipelineStepTable } from '../../src/storage/index.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** The pipeline tables and the scheduler's exactly-once claims, on both dialects, with two processes. */
function defineSuite(dialect: 'sqlite' | 'postgres') {
  describe(`pipeline store (${dialect})`, () => {
    let dir: string;
    let postgres: PostgresServer | undefined;
    let first: MetadataDb;
    let second: MetadataDb;
    let a: PipelineStore;
    let b: PipelineStore;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'slipway-pipeline-store-'));
      let url = `sqlite:${join(dir, 'slipway.db')}`;
      if (dialect === 'postgres') {
        postgres = await startPostgres();
        url = postgres.url;
      }
      first = await openMetadataDb(url);
      second = await openMetadataDb(url);
      a = createPipelineStore(first);
      b = createPipelineStore(second);
      await a.insertPipeline(first.db, {
        name: 'nightly',
        version: 1,
        working_dir: dir,
        schedule: '*/10 * * * * *',
        data_path: null,
        data_poll_ms: null,
        last_fire_at: null,
        data_fingerprint: null,
        created_at: T0,
        updated_at: T0,
      });
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await postgres?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('gives a lease to one process until it expires', async () => {
      expect(await a.acquireLease('scheduler', 'p1', T0, T0 + 5000)).toBe(true);
      expect(await b.acquireLease('scheduler', 'p2', T0 + 1000, T0 + 6000)).toBe(false);
      expect(await a.acquireLease('scheduler', 'p1', T0 + 1000, T0 + 6000)).toBe(true);
      expect(await b.acquireLease('scheduler', 'p2', T0 + 6001, T0 + 11_000)).toBe(true);
      await b.releaseLease('scheduler', 'p2');
    });

    it('fires each cron time once across two schedulers', async () => {
      let now = T0 + 25_000;
      const clock: Clock = { nowMs: () => now };
      const fired: { by: string; at: string }[] = [];
      const scheduler = (store: PipelineStore, owner: string) =>
        createPipelineScheduler({
          store,
          clock,
          owner,
          trigger: async (_name, _reason, input) => {
            fired.push({ by: owner, at: (input as { scheduled_at: string }).scheduled_at });
          },
          log: () => undefined,
        });
      const one = scheduler(a, 'one');
      const two = scheduler(b, 'two');
      await one.tick();
      await two.tick();
      // Missed times collapse into one catch-up run, for the latest one (12:00:20).
      expect(fired).toEqual([{ by: 'one', at: '2026-01-01T12:00:20.000Z' }]);
      now = T0 + 31_000;
      await two.tick();
      await one.tick();
      await one.tick();
      expect(fired.map((f) => f.at)).toEqual(['2026-01-01T12:00:20.000Z', '2026-01-01T12:00:30.000Z']);
      // The lease holder stops: the other takes over once the lease has run out.
      await one.stop();
      now = T0 + 41_000;
      await two.tick();
      expect(fired.at(-1)).toEqual({ by: 'two', at: '2026-01-01T12:00:40.000Z' });
      expect(await a.claimFire('nightly', Date.parse('2026-01-01T12:00:30.000Z'), T0 + 50_000)).toBe(false);
      await two.stop();
    });

    it('finds cached step runs by pipeline, step and key, and orphaned runs by lease', async () => {
      const step = (
        runId: string,
        status: PipelineStepTable['status'],
        finishedAt: number,
      ): PipelineStepTable => ({
        run_id: runId,
        step: 'train',
        pipeline: 'nightly',
        position: 0,
        kind: 'command',
        status,
        attempts: 1,
        cache_key: 'k1',
        cached_from: null,
        tracking_run_id: `tr-${runId}`,
        outputs_json: '{}',
        result_json: null,
        log_path: null,
        exit_code: 0,
        error: null,
        started_at: finishedAt - 10,
        finished_at: finishedAt,
      });
      await a.insertSteps(first.db, [
        step('r1', 'succeeded', T0),
        step('r2', 'failed', T0 + 5),
        step('r3', 'cached', T0 + 9),
      ]);
      expect((await b.findCached('nightly', 'train', 'k1'))?.run_id).toBe('r3');
      expect(await b.findCached('nightly', 'train', 'k2')).toBeUndefined();
      expect(await b.findCached('other', 'train', 'k1')).toBeUndefined();

      const run = (id: string, leaseUntil: number | null) => ({
        id,
        pipeline: 'nightly',
        version: 1,
        status: 'running' as const,
        reason: 'manual',
        params_json: '{}',
        trigger_input_path: null,
        experiment_id: '1',
        tracking_run_id: `t-${id}`,
        error: null,
        lease_owner: leaseUntil === null ? null : 'p1',
        lease_until: leaseUntil,
        created_at: T0,
        finished_at: null,
      });
      await a.insertRun(first.db, run('alive', T0 + 60_000));
      await a.insertRun(first.db, run('dead', T0 + 1000));
      expect((await b.orphanedRuns(T0 + 2000)).map((r) => r.id)).toEqual(['dead']);
      expect(await b.leaseRun('alive', 'p2', T0 + 2000, T0 + 30_000)).toBe(false);
      expect(await b.leaseRun('dead', 'p2', T0 + 2000, T0 + 30_000)).toBe(true);
    });
  });
}

defineSuite('sqlite');
if (postgresAvailable) defineSuite('postgres');

describe('dueFireTime', () => {
  it('answers the latest due time, or none', () => {
    expect(dueFireTime('*/15 * * * *', T0, T0 + 14 * 60_000)).toBeUndefined();
    expect(dueFireTime('*/15 * * * *', T0, T0 + 50 * 60_000)).toBe(T0 + 45 * 60_000);
  });
});
