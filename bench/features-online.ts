/**
 * Online feature serving: p50/p99 latency and throughput of `POST /get-online-features`, for 1 entity x 10
 * features and 100 entities x 10 features, with the embedded (SQLite) and the Redis online store.
 *
 *   npx tsx bench/features-online.ts [--seconds 10] [--embedded-only] [--only '1 x 10, 5000 RPS']
 *
 * The server runs in a child process (so the load generator does not share its event loop). Fixed rates are
 * open loop (requests are sent on schedule whether or not earlier ones have answered, which is what shows a
 * collapse) through the raw-socket generator in `open-loop.ts`; each rate is also compared with a closed-loop run
 * at the highest rate the server sustains. Latency is measured from send to last byte, on loopback; the server's
 * own p99 comes from its duration histogram. Targets (issue 6): p99 <= 2 ms for one entity at 5,000 RPS embedded;
 * no collapse at 100 rows x 100 RPS.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolveServerConfig } from '../src/core/config.js';
import { createSlipway } from '../src/server.js';
import { redisAvailable, startRedis } from '../test/support/redis.js';
import { histogramQuantile } from './http-load.js';
import { httpRequest, type OpenLoopResult, openLoop, percentile } from './open-loop.js';

const ENTITIES = 100_000;
const FIELDS = 10;
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 10) || 10;

if (process.argv.includes('--serve')) await serve();
else await main();

/** Child: a Slipway server with a 10-field view over 100K entities, materialized, answering on loopback. */
async function serve(): Promise<void> {
  const dir = process.argv[process.argv.indexOf('--dir') + 1] as string;
  const onlineStore = process.argv[process.argv.indexOf('--online') + 1];
  const parquet = join(dir, 'users.parquet');
  const fields = Array.from({ length: FIELDS }, (_, i) => `f${i}`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(
    `COPY (SELECT 'u' || i AS user_id, TIMESTAMP '2024-01-01' AS ts, ${fields.map((f, j) => `random() * ${j + 1} AS ${f}`).join(', ')}
           FROM range(${ENTITIES}) t(i)) TO '${parquet}' (FORMAT parquet)`,
  );
  connection.closeSync();
  instance.closeSync();
  const slipway = await createSlipway(
    resolveServerConfig({
      dataDir: join(dir, onlineStore === 'sqlite' ? 'embedded' : 'redis'),
      logLevel: 'silent',
      ...(onlineStore !== 'sqlite' && { onlineStore }),
    }),
    { logger: false, payloadLog: false },
  );
  await slipway.services.features.apply({
    definitions: {
      entities: [{ name: 'user', join_keys: ['user_id'] }],
      sources: [{ name: 'users', path: parquet, timestamp_field: 'ts' }],
      feature_views: [
        {
          name: 'profile',
          entities: ['user'],
          source: 'users',
          fields: fields.map((name) => ({ name, dtype: 'float64' })),
        },
      ],
    },
  });
  await slipway.services.features.materialize({ startMs: 0, endMs: Date.parse('2024-01-02') });
  const url = await slipway.app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url });
  process.on('message', () => {
    void slipway.close().then(() => process.exit(0));
  });
}

/** A run's figures; `late` only for open-loop runs. */
type Result = Omit<OpenLoopResult, 'late'> & { late?: number };

function bodyFor(rows: number, seed: number): string {
  const ids = Array.from({ length: rows }, (_, i) => `u${(seed * 7919 + i * 104_729) % ENTITIES}`);
  return JSON.stringify({
    features: Array.from({ length: FIELDS }, (_, i) => `profile:f${i}`),
    entities: { user_id: ids },
  });
}

/** Sends requests at `rate` per second (open loop) or as fast as `concurrency` connections allow (closed). */
async function load(
  url: string,
  rows: number,
  mode: { rate: number } | { concurrency: number },
  path = '/get-online-features',
): Promise<Result> {
  const target = new URL(path, url);
  // rows = 0: the baseline, a GET of the liveness route (the server's floor: HTTP, hooks, no feature work).
  const method = rows === 0 ? 'GET' : 'POST';
  if ('rate' in mode) {
    // Open loop on raw sockets: node:http's client would cost the shared CPU more than the server does.
    const pool = Array.from({ length: 997 }, (_, i) =>
      httpRequest(target.href, method, rows === 0 ? undefined : bodyFor(rows, i)),
    );
    return openLoop(target.href, (i) => pool[i % pool.length] as Buffer, { rate: mode.rate, seconds });
  }
  // Closed loop through node:http, as many requests in flight as connections.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let sent = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const body = rows === 0 ? '' : bodyFor(rows, sent);
      sent++;
      const started = performance.now();
      const headers =
        rows === 0 ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const req = request(target, { method, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - started);
          else failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
  const durationMs = seconds * 1000;
  const begin = performance.now();
  const worker = async () => {
    while (performance.now() - begin < durationMs) await one();
  };
  await Promise.all(Array.from({ length: mode.concurrency }, worker));
  const elapsedS = (performance.now() - begin) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    sent,
    ok: latencies.length,
    failed,
    rps: Math.round(latencies.length / elapsedS),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** The server's Prometheus text (its online-features duration histogram gives the server-side p99). */
async function metricsText(url: string): Promise<string> {
  return (await fetch(new URL('/metrics', url))).text();
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-online-'));
  const embeddedOnly = process.argv.includes('--embedded-only');
  if (!embeddedOnly && !redisAvailable) process.stdout.write('redis-server not found: Redis runs skipped\n');
  const redis = redisAvailable && !embeddedOnly ? await startRedis() : undefined;
  const stores: [string, string][] = [['embedded', 'sqlite']];
  if (redis !== undefined) stores.push(['redis', redis.url]);
  const rowsOut: Record<string, string | number>[] = [];
  const children: ChildProcess[] = [];
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  try {
    for (const [name, online] of stores) {
      const child = fork(import.meta.filename, ['--serve', '--dir', dir, '--online', online], {
        execArgv: process.execArgv,
        stdio: 'inherit',
      });
      children.push(child);
      const url = await new Promise<string>((resolve, reject) => {
        child.once('message', (m) => resolve((m as { url: string }).url));
        child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      await load(url, 1, { concurrency: 8 }); // warm-up: JIT, SQLite page cache, connections
      /** Adds a row to the table and prints it as it comes. */
      const report = (scenario: string, r: Result, vsBaseline: string, serverP99Ms?: number) => {
        rowsOut.push({
          store: name,
          scenario,
          rps: r.rps,
          vs_baseline: vsBaseline,
          p50_ms: r.p50Ms.toFixed(3),
          p99_ms: r.p99Ms.toFixed(3),
          max_ms: r.maxMs.toFixed(1),
          failed: r.failed,
          late: r.late ?? '-',
          server_p99_ms: serverP99Ms === undefined ? '-' : `<= ${serverP99Ms * 1000}`,
        });
        process.stdout.write(`${JSON.stringify(rowsOut.at(-1))}\n`);
      };
      const baseline = await load(url, 0, { concurrency: 32 }, '/v2/health/live');
      report('baseline GET /v2/health/live, max (32 conns)', baseline, '1.00x');
      // The floor at the target's rate: an empty route's p99 at 5,000 RPS open-loop on the same machine.
      report(
        'baseline GET /v2/health/live, 5000 RPS',
        await load(url, 0, { rate: 5000 }, '/v2/health/live'),
        '-',
      );
      const scenarios: [string, number, { rate: number } | { concurrency: number }][] = [
        ['1 x 10, 1000 RPS', 1, { rate: 1000 }],
        ['1 x 10, 5000 RPS', 1, { rate: 5000 }],
        ['1 x 10, max (32 conns)', 1, { concurrency: 32 }],
        ['100 x 10, 100 RPS', 100, { rate: 100 }],
        ['100 x 10, 1000 RPS', 100, { rate: 1000 }],
        ['100 x 10, max (32 conns)', 100, { concurrency: 32 }],
      ];
      for (const [label, rows, mode] of scenarios.filter(([label]) => only === undefined || label === only)) {
        const before = await metricsText(url);
        const r = await load(url, rows, mode);
        // The server's own time per request (its histogram, from the body read to the response encoded), against
        // the client's, which adds the wait before the server's event loop takes the request up.
        const serverP99 = histogramQuantile(
          before,
          await metricsText(url),
          'slipway_online_features_request_duration_seconds',
          0.99,
        );
        // Throughput against the floor only means something when both run flat out.
        report(label, r, 'concurrency' in mode ? `${(r.rps / baseline.rps).toFixed(2)}x` : '-', serverP99);
      }
      child.send('stop');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  } finally {
    // A failed run must not leave its server behind.
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.table(rowsOut);
}
