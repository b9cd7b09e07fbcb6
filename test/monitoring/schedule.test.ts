import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFixture } from '../support/models.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';
import { api, startTestServer, type TestServer } from '../support/slipway.js';
import { waitFor } from '../support/wait.js';

// The same flow on SQLite and, where its binaries are (always under CI), on PostgreSQL started for the test.
for (const dialect of ['sqlite', ...(postgresAvailable ? ['postgres'] : [])] as const) {
  describe(`scheduled monitors and alert actions (${dialect})`, () => {
    let server: TestServer;
    let postgres: PostgresServer | undefined;
    let dir: string;
    beforeAll(async () => {
      postgres = dialect === 'postgres' ? await startPostgres() : undefined;
      server = await startTestServer({
        ...(postgres !== undefined && { db: postgres.url }),
        slipway: { monitorTickMs: 100, monitorBucketMs: 500 },
      });
      dir = await mkdtemp(join(tmpdir(), 'slipway-schedule-'));
    });
    afterAll(async () => {
      await server?.close();
      await postgres?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('runs on its interval, and a firing rule starts the retraining pipeline with the alert as input', async () => {
      await registerFixture(server, 'lin', 'linear.onnx');
      expect(
        (await api(server.url, 'POST', '/api/v1/endpoints/lin-ep/deploy', { model: 'lin/1' })).status,
      ).toBe(200);
      // A pipeline that records what triggered it.
      await writeFile(
        join(dir, 'record.js'),
        [
          "const { copyFileSync } = require('node:fs');",
          "const { join } = require('node:path');",
          "copyFileSync(process.env.SLIPWAY_TRIGGER_INPUT, join(process.env.SLIPWAY_OUTPUT_DIR, 'trigger.json'));",
          "copyFileSync(process.env.SLIPWAY_TRIGGER_INPUT, 'trigger.json');",
        ].join('\n'),
      );
      const applied = await api(server.url, 'POST', '/api/v1/pipelines', {
        spec: [
          'name: retrain',
          'steps:',
          '  record:',
          '    run: node record.js',
          '    cache: false',
          '    outputs:',
          '      trigger: trigger.json',
        ].join('\n'),
        working_dir: dir,
      });
      expect(applied.status).toBe(200);
      await api(server.url, 'PUT', '/api/v1/endpoints/lin-ep/monitor', {
        interval_ms: 1000,
        window_ms: 600_000,
      });
      const rule = await api(server.url, 'PUT', '/api/v1/endpoints/lin-ep/alert-rules/traffic', {
        expression: 'rows >= 5',
        pipeline: 'retrain',
      });
      expect(rule.status).toBe(200);

      for (let i = 0; i < 6; i++) {
        const response = await api(server.url, 'POST', '/v2/models/lin-ep/infer', {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [i, 1, 2] }],
        });
        expect(response.status).toBe(200);
      }

      // No one calls run: the schedule does, and the rule's action starts the pipeline.
      const runs = await waitFor(
        async () => {
          const list = await api(server.url, 'GET', '/api/v1/pipelines/retrain/runs');
          const found = (list.json.runs ?? []) as { id: string; reason: string; status: string }[];
          if (found.some((r) => r.status === 'failed')) throw new Error(JSON.stringify(found));
          return found;
        },
        (found) => found.some((r) => r.status === 'succeeded'),
        'the alert-started pipeline run to succeed',
        20_000,
      );
      expect(runs[0]?.reason).toBe('alert');
      const monitor = await api(server.url, 'GET', '/api/v1/endpoints/lin-ep/monitor');
      expect(monitor.json.last_run_at).toEqual(expect.any(Number));
      expect((monitor.json.latest as { metrics: { rows: number } }).metrics.rows).toBe(6);
      // Without a reference profile there is no drift verdict, but latency and volume are monitored.
      expect((monitor.json.latest as { drift?: unknown }).drift).toBeUndefined();
      expect((monitor.json.rules as { state: string }[])[0]?.state).toBe('firing');

      const run = await api(server.url, 'GET', `/api/v1/pipeline-runs/${runs[0]?.id}`);
      const steps = run.json.steps as { name: string; status: string }[];
      expect(steps.map((s) => [s.name, s.status])).toEqual([['record', 'succeeded']]);
      const input = JSON.parse(await readFile(join(dir, 'trigger.json'), 'utf8'));
      expect(JSON.stringify(input)).toContain('"rule":"traffic"');
      expect(JSON.stringify(input)).toContain('"endpoint":"lin-ep"');
      const events = await api(server.url, 'GET', '/api/v1/endpoints/lin-ep/alert-events');
      expect(
        (events.json.events as { delivery: { pipeline: { name: string; run_id: string } } }[])[0]?.delivery
          .pipeline,
      ).toEqual({
        name: 'retrain',
        run_id: runs[0]?.id,
      });
    });
  });
}
