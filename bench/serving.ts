/**
 * Serving benchmark: one run, load generator (autocannon) on the same box, every server in its own process.
 *
 *   npm run build && npx tsx bench/serving.ts [--seconds 10] [--connections 32] [--rounds 3]
 *                                            [--generator autocannon|wrk]
 *
 * Every server stays up for the whole run and the rounds take them in turn; the report gives each server's median
 * round and each ratio's median and range over the rounds, so a slow stretch of the shared machine does not land
 * on one server alone.
 *
 * (a) a bare node:http server answering a fixed V2 response without reading the request: the ceiling of this
 *     machine;
 * (a2) the same server reading and parsing the JSON body and answering with a request id: the floor of any server
 *      that looks at its requests;
 * (b) `slipway serve` with the 100-tree gradient-boosted ONNX model (test/fixtures/models/gbt100.onnx), single-row
 *     V2 requests, payload logging on; (b0) the same with the payload log off;
 * (c) FastAPI + uvicorn predicting with the same model in scikit-learn (Debian python3-sklearn, python3-fastapi,
 *     python3-uvicorn; skipped with a notice when absent).
 * Then: Slipway with batch-of-64 requests (rows/s), and Slipway's p99 at half of its maximum rate.
 * `--generator wrk` drives the flat-out runs with wrk (Debian package `wrk`), which costs less CPU per request than
 * autocannon; the fixed-rate runs stay on autocannon, as wrk has no rate mode.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedModelVersions } from '../test/support/seed.js';
import {
  autocannon,
  cpuSeconds,
  hasWrk,
  histogramQuantile,
  randomPort,
  startSlipwayProcess,
  waitReady,
  wrk,
} from './http-load.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    generator: { type: 'string', default: 'autocannon' },
    rounds: { type: 'string', default: '3' },
  },
});
const generator = values.generator;
if (generator !== 'autocannon' && generator !== 'wrk')
  throw new Error(`--generator: expected autocannon or wrk, got ${generator}`);
if (generator === 'wrk' && !hasWrk())
  throw new Error('--generator wrk: wrk is not installed (apt-get install wrk)');
const seconds = Number(values.seconds);
const rounds = Math.max(1, Number(values.rounds));
const connections = Number(values.connections);
const root = join(import.meta.dirname, '..');
const reference = JSON.parse(
  await readFile(join(root, 'test/fixtures/models/gbt100-reference.json'), 'utf8'),
) as { inputs: number[][] };
const row = reference.inputs[0] as number[];
const single = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: row }] });
const batch64 = JSON.stringify({
  inputs: [{ name: 'x', shape: [64, 8], datatype: 'FP32', data: reference.inputs.slice(0, 64).flat() }],
});

const run = (
  url: string,
  body: string,
  options: { rate?: number; duration?: number; connections?: number } = {},
) => {
  const shape = { connections: options.connections ?? connections, durationS: options.duration ?? seconds };
  if (options.rate !== undefined) return autocannon(url, body, { ...shape, rate: options.rate });
  return generator === 'wrk' ? wrk(url, body, shape) : autocannon(url, body, shape);
};
type Result = ReturnType<typeof run> & { cpuUsPerRequest?: number };

/** One run, with the server's CPU time per request (user + system, all its threads) when /proc has it. */
const measured = (pid: number | undefined, url: string, body: string): Result => {
  const before = cpuSeconds(pid);
  const result: Result = run(url, body);
  const after = cpuSeconds(pid);
  if (before !== undefined && after !== undefined && result.total > 0)
    result.cpuUsPerRequest = ((after - before) * 1e6) / result.total;
  return result;
};

const killQuietly = (pid: number) => {
  try {
    process.kill(pid);
  } catch {
    // already gone
  }
};

/** GET a text page, retried: the kept-alive connection from start-up may have been closed during the rounds. */
const scrape = async (url: string): Promise<string> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(url)).text();
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
};

const stopProcess = async (child: ChildProcess) => {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

interface Server {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

// (a) bare node:http, which never reads the request; (a2) the same server reading and parsing the JSON body and
// answering with a request id: the least any server that looks at its requests does. (a2) tells how much of the
// gap between (a) and (b) is the cost of reading a request at all.
const fixed = JSON.stringify({
  model_name: 'gbt',
  model_version: '1',
  outputs: [{ name: 'variable', datatype: 'FP32', shape: [1, 1], data: [0.5] }],
});
const bareServers = {
  a: `(q,s)=>{q.resume();q.on('end',()=>{s.writeHead(200,{'content-type':'application/json'});s.end(${JSON.stringify(fixed)})})}`,
  a2: `(q,s)=>{let b='';q.setEncoding('utf8');q.on('data',(c)=>{b+=c});q.on('end',()=>{if(b!=='')JSON.parse(b);s.writeHead(200,{'content-type':'application/json','x-request-id':require('crypto').randomUUID()});s.end(${JSON.stringify(fixed)})})}`,
};
const startBare = async (handler: string): Promise<Server> => {
  const port = randomPort();
  const child = spawn(
    process.execPath,
    ['-e', `require('http').createServer(${handler}).listen(${port},'127.0.0.1')`],
    { stdio: 'inherit' },
  );
  await waitReady(`http://127.0.0.1:${port}/`, child);
  return {
    url: `http://127.0.0.1:${port}/v2/models/gbt/infer`,
    pid: child.pid,
    stop: () => stopProcess(child),
  };
};
const startSlipway = async (dataDir: string, extra: string[]): Promise<Server & { base: string }> => {
  const server = await startSlipwayProcess(
    ['serve', 'gbt', '--data-dir', dataDir, '--log-level', 'warn', ...extra],
    randomPort(),
    '/ping',
  );
  return { ...server, url: `${server.base}/v2/models/gbt/infer` };
};
const startFastApi = async (): Promise<Server | undefined> => {
  const python = '/usr/bin/python3';
  const usable =
    spawnSync(python, ['-c', 'import sklearn, fastapi, uvicorn'], { encoding: 'utf8' }).status === 0;
  if (!usable) {
    console.log(
      'notice: FastAPI baseline skipped (apt-get install python3-sklearn python3-fastapi python3-uvicorn)',
    );
    return undefined;
  }
  const port = randomPort();
  const child = spawn(python, [join(root, 'bench/fastapi_server.py'), String(port)], { stdio: 'inherit' });
  await waitReady(`http://127.0.0.1:${port}/v2/health/ready`, child);
  return {
    url: `http://127.0.0.1:${port}/v2/models/gbt100/infer`,
    pid: child.pid,
    stop: () => stopProcess(child),
  };
};

// Every server is up for the whole run (an idle one takes no CPU), and the rounds take them in turn, so a
// slower stretch of this shared machine falls on all of them rather than on one.
const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-serving-'));
await seedModelVersions(dataDir, 'gbt', ['gbt100.onnx']);
const slipway = await startSlipway(dataDir, []);
const servers: Record<string, Server> = {
  a: await startBare(bareServers.a),
  a2: await startBare(bareServers.a2),
  b: slipway,
  // (b0) the same without the payload log: what logging every request costs.
  b0: await startSlipway(dataDir, ['--no-payload-log']),
};
const fastApi = await startFastApi();
if (fastApi !== undefined) servers.c = fastApi;
// A failed run must not leave its servers behind.
process.on('exit', () => {
  for (const server of Object.values(servers)) if (server.pid !== undefined) killQuietly(server.pid);
});
for (const server of Object.values(servers)) run(server.url, single, { duration: 2 });

const results: Record<string, Result[]> = Object.fromEntries(Object.keys(servers).map((k) => [k, []]));
for (let round = 0; round < rounds; round++) {
  for (const [label, server] of Object.entries(servers)) {
    results[label]?.push(measured(server.pid, server.url, single));
  }
}
const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
/** The round with the median rate, so its latencies and CPU belong to one run. */
const medianRun = (label: string): Result => {
  const runs = [...(results[label] ?? [])].sort((x, y) => x.rps - y.rps);
  return runs[Math.floor((runs.length - 1) / 2)] as Result;
};
const b = medianRun('b');

const slipwayUrl = slipway.url;
const b64 = run(slipwayUrl, batch64);
const half = run(slipwayUrl, single, { rate: b.rps / 2 });
// Overload: twice the sustainable rate offered by many connections. The server-side latency histogram of
// accepted requests (before and after) gives their p99; refused requests answer 429 at once.
const before = await scrape(`${slipway.base}/metrics`);
const overload = run(slipwayUrl, single, { rate: b.rps * 2, connections: 256 });
const metrics = await scrape(`${slipway.base}/metrics`);
const acceptedP99Ms =
  histogramQuantile(before, metrics, 'slipway_inference_request_duration_seconds', 0.99) * 1000;
for (const server of Object.values(servers)) await server.stop();
await rm(dataDir, { recursive: true, force: true });

const ms = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
const fmt = (r: Result) =>
  `${r.rps.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors + r.non2xx} | ${r.cpuUsPerRequest?.toFixed(1) ?? ''}`;
const spread = (label: string) => {
  const rates = (results[label] ?? []).map((r) => r.rps);
  return `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`;
};
console.log(
  `\nServing benchmark: ${rounds} rounds of ${seconds}s per server, ${connections} connections, ${generator} on the same 2-core box (fixed-rate rows: autocannon)`,
);
console.log(
  '| server | req/s (median round) | p50 ms | p99 ms | errors | server CPU µs/request | req/s, all rounds |',
);
console.log('|---|---|---|---|---|---|---|');
const rows: [string, string][] = [
  ['a', '(a) bare node:http, fixed V2 response, request never read'],
  ['a2', '(a2) bare node:http, reads and parses the body, request id, fixed response'],
  ['b', '(b) slipway serve, gbt100 ONNX, 1 row/request, payload log on'],
  ['b0', '(b0) slipway serve as (b), payload log off'],
  ['c', '(c) FastAPI + uvicorn + scikit-learn, 1 row/request'],
];
for (const [label, title] of rows) {
  if (results[label] !== undefined) console.log(`| ${title} | ${fmt(medianRun(label))} | ${spread(label)} |`);
}
console.log(`| (b) with 64 rows/request | ${fmt(b64)} (${(b64.rps * 64).toFixed(0)} rows/s) | |`);
console.log(`| (b) at half its max rate (${(b.rps / 2).toFixed(0)} req/s) | ${fmt(half)} | |`);
console.log(
  `| (b) offered 2x its max rate, 256 connections | ${fmt(overload)} (${overload.ok} accepted, ${overload.non2xx} refused 429; accepted p99 in the server ${acceptedP99Ms.toFixed(1)} ms) | |`,
);
/** A ratio of two servers' rates, round by round: the median and the range. */
const ratio = (top: string, bottom: string, digits = 2) => {
  const tops = results[top] ?? [];
  const values = tops.map((r, i) => r.rps / (results[bottom]?.[i]?.rps ?? Number.NaN));
  return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
};
console.log(
  `\nratios, median of the rounds (range): (b)/(a) = ${ratio('b', 'a')}, (b)/(a2) = ${ratio('b', 'a2')}, (a2)/(a) = ${ratio('a2', 'a')}, (b0)/(a) = ${ratio('b0', 'a')}${results.c === undefined ? '' : `, (b)/(c) = ${ratio('b', 'c', 1)}`}`,
);
const cpu = (label: string) => median((results[label] ?? []).map((r) => r.cpuUsPerRequest ?? Number.NaN));
console.log(
  `server CPU per request, median of the rounds: (a) ${cpu('a').toFixed(1)} µs, (a2) ${cpu('a2').toFixed(1)} µs, (b) ${cpu('b').toFixed(1)} µs, (b0) ${cpu('b0').toFixed(1)} µs${results.c === undefined ? '' : `, (c) ${cpu('c').toFixed(1)} µs`}`,
);
const logged = /slipway_payload_log_records_total (\d+)/.exec(metrics)?.[1];
const dropped = /slipway_payload_log_dropped_total (\d+)/.exec(metrics)?.[1];
console.log(`payload log: ${logged} records written, ${dropped} dropped`);
