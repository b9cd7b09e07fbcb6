import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute, ElementType, encodeModel, node, tensorValue } from '../support/onnx-builder.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';
import { seededRandom } from '../support/random.js';
import { api, startTestServer, type TestServer } from '../support/slipway.js';

const { FLOAT, INT64, STRING } = ElementType;
const ORIGINS = { SEA: 0, SFO: 1, JFK: 2 };
const BUCKET_MS = 400;

/**
 * A binary classifier over raw features, as the serving layer sees real exports: `distance` and `hour` FP32
 * [N, 1], `origin` BYTES [N, 1] (LabelEncoder), then LinearClassifier with softmax: `label` INT64 [N] and
 * `probabilities` FP32 [N, 2] (no ZipMap).
 */
function delayClassifier(): Uint8Array {
  return encodeModel({
    name: 'delay',
    nodes: [
      node('LabelEncoder', ['origin'], ['origin_code'], {
        domain: 'ai.onnx.ml',
        attributes: [
          attribute.strings('keys_strings', Object.keys(ORIGINS)),
          attribute.ints('values_int64s', Object.values(ORIGINS)),
          attribute.int('default_int64', -1),
        ],
      }),
      node('Cast', ['origin_code'], ['origin_float'], { attributes: [attribute.int('to', FLOAT)] }),
      node('Concat', ['distance', 'hour', 'origin_float'], ['features'], {
        attributes: [attribute.int('axis', 1)],
      }),
      node('LinearClassifier', ['features'], ['label', 'probabilities'], {
        domain: 'ai.onnx.ml',
        attributes: [
          attribute.floats('coefficients', [0.002, 0.1, 0.3, -0.002, -0.1, -0.3]),
          attribute.floats('intercepts', [-2.5, 2.5]),
          attribute.ints('classlabels_ints', [0, 1]),
          attribute.string('post_transform', 'SOFTMAX'),
        ],
      }),
    ],
    inputs: [
      tensorValue('distance', FLOAT, ['N', 1]),
      tensorValue('hour', FLOAT, ['N', 1]),
      tensorValue('origin', STRING, ['N', 1]),
    ],
    outputs: [tensorValue('label', INT64, ['N']), tensorValue('probabilities', FLOAT, ['N', 2])],
    opsets: { '': 13, 'ai.onnx.ml': 2 },
  });
}

interface Row {
  distance: number;
  hour: number;
  origin: string;
}

let random = seededRandom(11);
const normal = (mean: number, std: number) =>
  mean + std * Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
const usualRow = (): Row => ({
  distance: Math.round(normal(800, 200)),
  hour: 6 + Math.floor(random() * 16),
  origin: (['SEA', 'SFO', 'JFK'] as const)[Math.floor(random() * 3)] as string,
});
const shiftedRow = (): Row => ({
  distance: Math.round(normal(1600, 200)),
  hour: 18 + Math.floor(random() * 6),
  origin: random() < 0.3 ? 'LAX' : 'JFK',
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const repoRoot = join(import.meta.dirname, '../..');

/** The `slipway` binary as a user runs it (`npm test` builds dist/ first). */
async function cli(url: string, ...args: string[]) {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(repoRoot, 'bin/slipway.js'),
      ...args,
      '--tracking-uri',
      url,
    ]);
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// The same flow on SQLite and, where its binaries are (always under CI), on PostgreSQL started for the test.
for (const dialect of ['sqlite', ...(postgresAvailable ? ['postgres'] : [])] as const) {
  describe(`monitoring an endpoint end to end (${dialect})`, () => {
    let server: TestServer;
    let postgres: PostgresServer | undefined;
    let dir: string;
    let hooks: Server;
    const received: Record<string, unknown>[] = [];
    let hookUrl: string;

    beforeAll(async () => {
      // Every dialect sees the same rows.
      random = seededRandom(11);
      postgres = dialect === 'postgres' ? await startPostgres() : undefined;
      server = await startTestServer({
        ...(postgres !== undefined && { db: postgres.url }),
        slipway: { monitorBucketMs: BUCKET_MS, monitorTickMs: 3_600_000 },
      });
      dir = await mkdtemp(join(tmpdir(), 'slipway-monitor-'));
      hooks = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => {
          body += chunk;
        });
        request.on('end', () => {
          received.push(JSON.parse(body));
          response.end('ok');
        });
      });
      await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
      hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    });

    afterAll(async () => {
      await server?.close();
      await postgres?.stop();
      hooks?.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Sends rows ten per request, with our own request ids; returns each row's id, row index and P(class 1). */
    const send = async (rows: Row[], prefix: string) => {
      const answers: { id: string; row: number; score: number }[] = [];
      for (let start = 0; start < rows.length; start += 10) {
        const batch = rows.slice(start, start + 10);
        const id = `${prefix}-${start / 10}`;
        const column = (data: unknown[], name: string, datatype: string) => ({
          name,
          datatype,
          shape: [batch.length, 1],
          data,
        });
        const response = await fetch(`${server.url}/v2/models/delay/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': id },
          body: JSON.stringify({
            inputs: [
              column(
                batch.map((r) => r.distance),
                'distance',
                'FP32',
              ),
              column(
                batch.map((r) => r.hour),
                'hour',
                'FP32',
              ),
              column(
                batch.map((r) => r.origin),
                'origin',
                'BYTES',
              ),
            ],
          }),
        });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { outputs: { name: string; data: number[] }[] };
        const probabilities = body.outputs.find((o) => o.name === 'probabilities')?.data as number[];
        batch.forEach((_, row) => {
          answers.push({ id, row, score: probabilities[row * 2 + 1] as number });
        });
      }
      return answers;
    };

    it('captures a reference at registration, finds drift and bad data, joins labels, fires one alert', async () => {
      // Training data, logged as the run's input: the version's reference is captured from it on registration.
      const training = Array.from({ length: 1500 }, usualRow);
      const csv = join(dir, 'train.csv');
      await writeFile(
        csv,
        `distance,hour,origin\n${training.map((r) => `${r.distance},${r.hour},${r.origin}`).join('\n')}\n`,
      );
      const { client, slipway } = server;
      const experimentId = await client.createExperiment('delays');
      const run = await client.createRun({ experimentId });
      await client.logInputs(run.info.run_id, [
        {
          dataset: { name: 'train', digest: 'abc123', source_type: 'local', source: csv },
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
        },
      ]);
      const root = await slipway.services.tracking.artifactRootOf(run.info.run_id);
      await slipway.services.blobs.put(`${root}/model/model.onnx`, delayClassifier());
      await client.createRegisteredModel('delay');
      await client.createModelVersion({
        name: 'delay',
        source: `runs:/${run.info.run_id}/model`,
        runId: run.info.run_id,
      });

      let reference = await api(server.url, 'GET', '/api/v1/models/delay/versions/1/reference');
      for (let i = 0; i < 100 && reference.status !== 200; i++) {
        await sleep(50);
        reference = await api(server.url, 'GET', '/api/v1/models/delay/versions/1/reference');
      }
      expect(reference.status).toBe(200);
      expect(reference.json).toMatchObject({ rows: 1500, source: expect.stringContaining('train') });
      const columns = (reference.json.profile as { columns: Record<string, { kind: string }> }).columns;
      expect(Object.keys(columns).sort()).toEqual(['distance', 'hour', 'origin', 'prediction']);
      expect(columns.origin?.kind).toBe('categorical');

      expect(
        (await api(server.url, 'POST', '/api/v1/endpoints/delay/deploy', { model: 'delay/1' })).status,
      ).toBe(200);
      const monitor = await api(server.url, 'PUT', '/api/v1/endpoints/delay/monitor', {
        window_ms: 3_600_000,
      });
      expect(monitor.status).toBe(200);
      const bad = await api(server.url, 'PUT', '/api/v1/endpoints/delay/monitor', { drift_share: 2 });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toMatch(/monitor\.drift_share/);
      expect((await api(server.url, 'PUT', '/api/v1/endpoints/nope/monitor', {})).status).toBe(404);

      // Phase A: traffic like the training data. Phase B, in later buckets: shifted traffic with unseen origins.
      const startA = Date.now();
      const usual = await send(Array.from({ length: 600 }, usualRow), 'a');
      await sleep(BUCKET_MS - (Date.now() % BUCKET_MS) + 5);
      const startB = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS;
      const shifted = await send(Array.from({ length: 600 }, shiftedRow), 'b');
      await slipway.services.deployments.stop();

      const reportA = await api(
        server.url,
        'GET',
        `/api/v1/endpoints/delay/monitor/report?from=${Math.floor(startA / BUCKET_MS) * BUCKET_MS}&to=${startB}`,
      );
      expect(reportA.status).toBe(200);
      const driftA = reportA.json.drift as {
        dataset_drift: boolean;
        current_rows: number;
        columns: { column: string; drift: { drifted: boolean } }[];
      };
      expect(driftA.current_rows).toBe(600);
      expect(driftA.dataset_drift).toBe(false);

      const reportB = await api(
        server.url,
        'GET',
        `/api/v1/endpoints/delay/monitor/report?from=${startB}&to=${Date.now() + 1}`,
      );
      const driftB = reportB.json.drift as {
        dataset_drift: boolean;
        current_rows: number;
        columns: {
          column: string;
          drift: { drifted: boolean; test: string };
          quality: { unseen_categories: string[] };
        }[];
        prediction_drift: { drifted: boolean };
      };
      expect(driftB.current_rows).toBe(600);
      expect(driftB.dataset_drift).toBe(true);
      const byColumn = Object.fromEntries(driftB.columns.map((c) => [c.column, c]));
      expect(byColumn.distance?.drift).toMatchObject({
        drifted: true,
        test: 'wasserstein',
      });
      expect(byColumn.origin?.quality.unseen_categories).toEqual(['LAX']);
      expect(driftB.prediction_drift.drifted).toBe(true);

      // Labels arrive later: the model is right on phase A and wrong on phase B.
      const labelled = [
        ...usual.map((a) => ({ request_id: a.id, row: a.row, label: a.score >= 0.5 ? 1 : 0 })),
        ...shifted.map((a) => ({ request_id: a.id, row: a.row, label: a.score >= 0.5 ? 0 : 1 })),
      ];
      const wrongType = await api(server.url, 'POST', '/api/v1/endpoints/delay/labels', {
        labels: [{ request_id: 'a-0', label: 'yes' }],
      });
      expect(wrongType.status).toBe(400);
      expect(wrongType.json.message).toMatch(/labels\.0\.label/);
      const notBinary = await api(server.url, 'POST', '/api/v1/endpoints/delay/labels', {
        labels: [
          { request_id: 'a-0', label: 1 },
          { request_id: 'a-1', label: 2 },
        ],
      });
      expect(notBinary.status).toBe(400);
      expect(notBinary.json.message).toBe(
        'labels[1].label is 2; expected 0 or 1 for a classification endpoint',
      );
      const first = await api(server.url, 'POST', '/api/v1/endpoints/delay/labels', {
        labels: [...labelled, { request_id: 'never-sent', label: 1 }],
      });
      expect(first.json).toEqual({
        accepted: 1200,
        duplicate: 0,
        conflicting: 0,
        unknown: 1,
        unknown_request_ids: ['never-sent'],
      });
      const again = await api(server.url, 'POST', '/api/v1/endpoints/delay/labels', {
        labels: [labelled[0], { ...labelled[1], label: 1 - (labelled[1]?.label as number) }],
      });
      expect(again.json).toMatchObject({ accepted: 0, duplicate: 1, conflicting: 1, unknown: 0 });

      const performanceA = (
        await api(
          server.url,
          'GET',
          `/api/v1/endpoints/delay/monitor/report?from=${Math.floor(startA / BUCKET_MS) * BUCKET_MS}&to=${startB}`,
        )
      ).json.performance as { overall: { accuracy: number; count: number } };
      expect(performanceA.overall).toMatchObject({ accuracy: 1, count: 600 });
      const performanceB = (
        await api(
          server.url,
          'GET',
          `/api/v1/endpoints/delay/monitor/report?from=${startB}&to=${Date.now() + 1}`,
        )
      ).json.performance as {
        overall: { accuracy: number };
        by_version: Record<string, { accuracy: number }>;
      };
      expect(performanceB.overall.accuracy).toBe(0);
      expect(performanceB.by_version['1']?.accuracy).toBe(0);

      // Rules: one fires on drift and notifies once; a rule on a metric without data stays quiet.
      const badRule = await api(server.url, 'PUT', '/api/v1/endpoints/delay/alert-rules/x', {
        expression: 'drift >= 1',
      });
      expect(badRule.status).toBe(400);
      expect(badRule.json.message).toMatch(/unknown metric 'drift'/);
      expect(
        (
          await api(server.url, 'PUT', '/api/v1/endpoints/delay/alert-rules/drift', {
            expression: 'drift_share >= 0.5',
            webhook_url: hookUrl,
          })
        ).status,
      ).toBe(200);
      await api(server.url, 'PUT', '/api/v1/endpoints/delay/alert-rules/accuracy', {
        expression: 'accuracy < 0.8',
        webhook_url: hookUrl,
        webhook_format: 'slack',
      });
      const run1 = await api(server.url, 'POST', '/api/v1/endpoints/delay/monitor/run');
      expect(run1.status).toBe(200);
      expect(run1.json.alerts).toEqual([
        { rule: 'drift', state: 'firing', value: expect.any(Number) },
        { rule: 'accuracy', state: 'firing', value: 0.5 },
      ]);
      const run2 = await api(server.url, 'POST', '/api/v1/endpoints/delay/monitor/run');
      expect((run2.json.alerts as { state: string }[]).map((a) => a.state)).toEqual(['firing', 'firing']);
      expect(received).toHaveLength(2);
      expect(received[0]).toMatchObject({
        endpoint: 'delay',
        rule: 'drift',
        state: 'firing',
        threshold: 0.5,
      });
      expect(received[1]).toMatchObject({
        rule: 'accuracy',
        text: expect.stringContaining('FIRING delay: accuracy'),
      });
      const events = await api(server.url, 'GET', '/api/v1/endpoints/delay/alert-events');
      expect((events.json.events as unknown[]).length).toBe(2);

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(
        /slipway_monitor_drift_share\{endpoint="delay"\} 0\.\d+|slipway_monitor_drift_share\{endpoint="delay"\} 1/,
      );
      expect(metrics).toContain('slipway_monitor_alert_firing{endpoint="delay",rule="drift"} 1');
      expect(metrics).toContain('slipway_monitor_labels_total{endpoint="delay",outcome="unknown"} 1');
      expect(metrics).toMatch(
        /slipway_monitor_performance\{endpoint="delay",version="1",metric="accuracy"\} 0\.5/,
      );
      // Every series the Grafana dashboard plots is one this server exports.
      const dashboard = await readFile(join(repoRoot, 'deploy/grafana/slipway-dashboard.json'), 'utf8');
      const plotted = new Set(
        [...dashboard.matchAll(/slipway_[a-z_]+/g)].map((m) => m[0].replace(/_bucket$/, '')),
      );
      expect(plotted.size).toBeGreaterThan(8);
      for (const name of plotted) expect(metrics, name).toContain(`# HELP ${name} `);

      const html = await fetch(
        `${server.url}/api/v1/endpoints/delay/monitor/report?from=${startB}&format=html`,
      );
      expect(html.headers.get('content-type')).toContain('text/html');
      const page = await html.text();
      expect(page).toContain('<svg');
      expect(page).toContain('Dataset drift');
      expect(page).toContain('LAX');

      const status = await api(server.url, 'GET', '/api/v1/endpoints/delay/monitor');
      expect(status.json.labels).toEqual({ accepted: 1200, unknown: 1, duplicate: 1, conflicting: 1 });

      // Against the window before instead of the reference: phase B after phase A drifts too.
      await api(server.url, 'PUT', '/api/v1/endpoints/delay/monitor', { baseline: 'previous_window' });
      // The window before [startB, startB + span) is exactly phase A's buckets.
      const span = startB - Math.floor(startA / BUCKET_MS) * BUCKET_MS;
      const previous = await api(server.url, 'POST', '/api/v1/endpoints/delay/monitor/run', {
        from: startB,
        to: startB + span,
      });
      expect(previous.status).toBe(200);
      expect(previous.json.drift, JSON.stringify(previous.json).slice(0, 500)).toBeDefined();
      expect((previous.json.drift as { dataset_drift: boolean }).dataset_drift).toBe(true);
      const halfWindow = await api(server.url, 'POST', '/api/v1/endpoints/delay/monitor/run', {
        from: startB,
      });
      expect(halfWindow.status).toBe(400);
      expect(halfWindow.json.message).toBe("run: give both 'from' and 'to', or neither");
      await api(server.url, 'PUT', '/api/v1/endpoints/delay/monitor', { baseline: 'reference' });

      // The same through the CLI, as a user runs it.
      const cliStatus = await cli(server.url, 'monitor', 'status', '--json');
      expect(cliStatus.code).toBe(0);
      expect(JSON.parse(cliStatus.stdout)[0]).toMatchObject({
        endpoint: 'delay',
        labels: { accepted: 1200 },
      });
      const htmlFile = join(dir, 'report.html');
      const cliReport = await cli(
        server.url,
        'monitor',
        'report',
        'delay',
        '--from',
        String(startB),
        '--html',
        htmlFile,
      );
      expect(cliReport.code).toBe(0);
      expect(cliReport.stdout).toContain('DATASET DRIFT');
      expect(cliReport.stdout).toMatch(/distance\s+feature\s+wasserstein\s+[\d.]+\s+0\.1\s+DRIFT/);
      expect(await readFile(htmlFile, 'utf8')).toContain('<svg');
      const cliRules = await cli(server.url, 'monitor', 'rules', 'delay');
      expect(cliRules.stdout).toMatch(/drift\s+drift_share >= 0\.5\s+firing/);
      const labelsFile = join(dir, 'labels.csv');
      await writeFile(labelsFile, 'request_id,label\nnever-sent-either,1\n');
      const cliLabels = await cli(server.url, 'monitor', 'labels', 'delay', '--file', labelsFile, '--json');
      expect(JSON.parse(cliLabels.stdout)).toMatchObject({ accepted: 0, unknown: 1 });
      const cliBadRule = await cli(server.url, 'monitor', 'rules', 'delay', '--set', 'x', '--expr', 'auc <');
      expect(cliBadRule.code).toBe(1);
      expect(cliBadRule.stderr).toContain("expected 'METRIC OP THRESHOLD");
    });
  });
}
