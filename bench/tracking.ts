/**
 * Tracking ingest and search benchmark.
 *
 *   npx tsx bench/tracking.ts [--db postgres://...] [--runs 10000]
 *
 * Starts `slipway server` as a child process on a temp data dir (SQLite by default) and measures, in one run:
 * - baseline: a bare node:http server answering `{}` to the same POST (the HTTP ceiling on this machine);
 * - single log-metric calls (metrics/s) and log-batch with 1000 metrics per call (metrics/s);
 * - search over N runs with a metric + param filter, ordered by a metric (p50/p99 latency), against the
 *   baseline of GET /health on the same server.
 * Figures are reported as ratios to the baselines measured in the same run, since the machine is shared.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveServerConfig } from '../src/core/config.js';
import { createServices } from '../src/server.js';
import { fmt, randomPort, runLoad, startSlipwayProcess } from './http-load.js';

const { values } = parseArgs({
  options: { db: { type: 'string' }, runs: { type: 'string', default: '10000' } },
});
const runCount = Number(values.runs);
const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
const config = resolveServerConfig({ dataDir, ...(values.db !== undefined && { db: values.db }) });

// Seed N runs straight through the service (not timed): this is the data search runs over.
console.log(`seeding ${runCount} runs...`);
const services = await createServices(config);
const experimentId = await services.tracking.createExperiment({ name: 'bench-search' });
for (let i = 0; i < runCount; i++) {
  const run = await services.tracking.createRun({ experimentId, runName: `run-${i}` });
  await services.tracking.logBatch({
    runId: run.info.run_id,
    metrics: [
      { key: 'acc', value: (i % 1000) / 1000, timestamp: 1, step: 0 },
      { key: 'loss', value: 1 - (i % 1000) / 1000, timestamp: 1, step: 0 },
    ],
    params: [
      { key: 'model', value: i % 3 === 0 ? 'gbt' : 'logreg' },
      { key: 'lr', value: String(i % 7) },
    ],
    tags: [{ key: 'team', value: i % 2 === 0 ? 'risk' : 'growth' }],
  });
}
const ingestRun = await services.tracking.createRun({ experimentId, runName: 'ingest' });
await services.close();

const server = await startSlipwayProcess(
  [
    'server',
    '--data-dir',
    dataDir,
    '--log-level',
    'warn',
    ...(values.db !== undefined ? ['--db', values.db] : []),
  ],
  randomPort(),
  '/health',
);
const base = server.base;

const bare = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/api/2.0/mlflow/runs/log-metric`;

const post = (url: string, body: unknown) => ({
  url,
  init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
});
const metricBody = (i: number) => ({
  run_id: ingestRun.info.run_id,
  key: `m${i % 50}`,
  value: i,
  timestamp: Date.now(),
  step: i,
});

const baseline = await runLoad(4000, 16, (i) => post(bareUrl, metricBody(i)));
const single = await runLoad(4000, 16, (i) => post(`${base}/api/2.0/mlflow/runs/log-metric`, metricBody(i)));
const batch = await runLoad(100, 4, (i) =>
  post(`${base}/api/2.0/mlflow/runs/log-batch`, {
    run_id: ingestRun.info.run_id,
    metrics: Array.from({ length: 1000 }, (_, j) => ({
      key: `b${j % 100}`,
      value: j,
      timestamp: Date.now(),
      step: i * 1000 + j,
    })),
  }),
);
const health = await runLoad(400, 4, () => ({ url: `${base}/health`, init: {} }));
const search = await runLoad(400, 4, (i) =>
  post(`${base}/api/2.0/mlflow/runs/search`, {
    experiment_ids: [experimentId],
    filter: `metrics.acc > ${(i % 10) / 10} and params.model = 'gbt'`,
    order_by: ['metrics.acc DESC'],
    max_results: 100,
  }),
);

bare.close();
await server.stop();
await rm(dataDir, { recursive: true, force: true });

const failures = baseline.failures + single.failures + batch.failures + search.failures + health.failures;
console.log(
  `\nTracking benchmark (${values.db === undefined ? 'SQLite' : 'PostgreSQL'}, ${runCount} runs, ${failures} failed requests)`,
);
console.log('| measure | result | baseline | ratio |');
console.log('|---|---|---|---|');
console.log(
  `| log-metric, 1 metric/call, 16 in flight | ${fmt(single.rps, 0)} metrics/s (p99 ${fmt(single.p99Ms)} ms) | bare node:http ${fmt(baseline.rps, 0)} req/s | ${fmt(single.rps / baseline.rps, 2)} |`,
);
console.log(
  `| log-batch, 1000 metrics/call, 4 in flight | ${fmt((batch.requests * 1000) / batch.seconds, 0)} metrics/s (p99 ${fmt(batch.p99Ms)} ms/call) | single log-metric ${fmt(single.rps, 0)} metrics/s | ${fmt((batch.requests * 1000) / batch.seconds / single.rps, 1)} |`,
);
console.log(
  `| search ${runCount} runs, metric+param filter, order by metric, 100/page | p50 ${fmt(search.p50Ms)} ms, p99 ${fmt(search.p99Ms)} ms, ${fmt(search.rps, 0)} req/s | GET /health p50 ${fmt(health.p50Ms, 2)} ms | ${fmt(search.p50Ms / health.p50Ms, 1)}x |`,
);
if (failures > 0) process.exitCode = 1;
