import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentStore } from '../../src/deployments/store.js';
import { type MetadataDb, openMetadataDb } from '../../src/storage/index.js';

/** Two server processes on one database: only one may drive a rollout until its lease runs out. */
describe('rollout lease', () => {
  let dir: string;
  let first: MetadataDb;
  let second: MetadataDb;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-lease-'));
    first = await openMetadataDb(`sqlite:${join(dir, 'slipway.db')}`);
    second = await openMetadataDb(`sqlite:${join(dir, 'slipway.db')}`);
    await first.db
      .insertInto('rollouts')
      .values({
        id: 'r1',
        endpoint: 'e',
        baseline_version: '1',
        candidate_version: '2',
        steps_json: '[10,100]',
        interval_ms: 1000,
        checks_json: '[]',
        approval: 0,
        awaiting_approval: 0,
        current_step: 0,
        state: 'running',
        step_started_at: 0,
        last_analysis_json: null,
        lease_owner: null,
        lease_until: null,
        created_at: 0,
        updated_at: 0,
      })
      .execute();
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('grants the lease to one process, renews it for that one, and hands it over only after it expires', async () => {
    const a = createDeploymentStore(first);
    const b = createDeploymentStore(second);
    expect(await a.acquireLease('r1', 'process-a', 1000, 6000)).toBe(true);
    expect(await b.acquireLease('r1', 'process-b', 2000, 7000)).toBe(false);
    expect(await a.acquireLease('r1', 'process-a', 3000, 8000)).toBe(true);
    expect(await b.acquireLease('r1', 'process-b', 7999, 12000)).toBe(false);
    expect(await b.acquireLease('r1', 'process-b', 8001, 13000)).toBe(true);
    expect(await a.acquireLease('r1', 'process-a', 9000, 14000)).toBe(false);
  });
});
