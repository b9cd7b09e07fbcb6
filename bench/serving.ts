/**
 * Serving benchmark: one run, load generator (autocannon) on the same box, every server in its own process.
 *
 *   npm run build && npx tsx bench/serving.ts [--seconds 10] [--connections 32] [--generator autocannon|wrk]
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
  },
});
const generator = values.generator;
if (generator !== 'autocannon' && generator !== 'wrk')
  throw new Error(`--generator: expected autocannon or wrk, got ${generator}`);
if (generator === 'wrk' && !hasWrk())
  throw new Error('--generator wrk: wrk is not installed (apt-get install wrk)');
const seconds = Number(values.seconds);
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

const stopProcess = async (child: ChildProcess) => {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

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
const measureBare = async (handler: string): Promise<Result> => {
  const port = randomPort();
  const child = spawn(
    process.execPath,
    ['-e', `require('http').createServer(${handler}).listen(${port},'127.0.0.1')`],
    { stdio: 'inherit' },
  );
  await waitReady(`http://127.0.0.1:${port}/`, child);
  const url = `http://127.0.0.1:${port}/v2/models/gbt/infer`;
  run(url, single, { duration: 2 });
  const result = measured(child.pid, url, single);
  await stopProcess(child);
  return result;
};
const a = await measureBare(bareServers.a);
const a2 = await measureBare(bareServers.a2);

// (b) slipway serve
const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-serving-'));
await seedModelVersions(dataDir, 'gbt', ['gbt100.onnx']);
const slipwayServer = await startSlipwayProcess(
  ['serve', 'gbt', '--data-dir', dataDir, '--log-level', 'warn'],
  randomPort(),
  '/ping',
);
const slipwayBase = slipwayServer.base;
const slipwayUrl = `${slipwayBase}/v2/models/gbt/infer`;
run(slipwayUrl, single, { duration: 2 });
const b = measured(slipwayServer.pid, slipwayUrl, single);
const b64 = run(slipwayUrl, batch64);
const half = run(slipwayUrl, single, { rate: b.rps / 2 });
// Overload: twice the sustainable rate offered by many connections. The server-side latency histogram of
// accepted requests (before and after) gives their p99; refused requests answer 429 at once.
const before = await fetch(`${slipwayBase}/metrics`).then((r) => r.text());
const overload = run(slipwayUrl, single, { rate: b.rps * 2, connections: 256 });
const metrics = await (await fetch(`${slipwayBase}/metrics`)).text();
const acceptedP99Ms =
  histogramQuantile(before, metrics, 'slipway_inference_request_duration_seconds', 0.99) * 1000;
await slipwayServer.stop();
// (b0) the same without the payload log: what logging every request costs.
const unlogged = await startSlipwayProcess(
  ['serve', 'gbt', '--data-dir', dataDir, '--log-level', 'warn', '--no-payload-log'],
  randomPort(),
  '/ping',
);
run(`${unlogged.base}/v2/models/gbt/infer`, single, { duration: 2 });
const b0 = measured(unlogged.pid, `${unlogged.base}/v2/models/gbt/infer`, single);
await unlogged.stop();
await rm(dataDir, { recursive: true, force: true });

// (c) FastAPI + scikit-learn
let c: Result | undefined;
const python = '/usr/bin/python3';
const hasPython =
  spawnSync(python, ['-c', 'import sklearn, fastapi, uvicorn'], { encoding: 'utf8' }).status === 0;
if (hasPython) {
  const fastPort = randomPort();
  const fast = spawn(python, [join(root, 'bench/fastapi_server.py'), String(fastPort)], { stdio: 'inherit' });
  await waitReady(`http://127.0.0.1:${fastPort}/v2/health/ready`, fast);
  run(`http://127.0.0.1:${fastPort}/v2/models/gbt100/infer`, single, { duration: 2 });
  c = measured(fast.pid, `http://127.0.0.1:${fastPort}/v2/models/gbt100/infer`, single);
  await stopProcess(fast);
} else {
  console.log(
    'notice: FastAPI baseline skipped (apt-get install python3-sklearn python3-fastapi python3-uvicorn)',
  );
}

const ms = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
const fmt = (r: Result) =>
  `${r.rps.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors + r.non2xx} | ${r.cpuUsPerRequest?.toFixed(1) ?? ''}`;
console.log(
  `\nServing benchmark: ${seconds}s per run, ${connections} connections, ${generator} on the same 2-core box (fixed-rate rows: autocannon)`,
);
console.log('| server | req/s | p50 ms | p99 ms | errors | server CPU µs/request |');
console.log('|---|---|---|---|---|---|');
console.log(`| (a) bare node:http, fixed V2 response, request never read | ${fmt(a)} |`);
console.log(`| (a2) bare node:http, reads and parses the body, request id, fixed response | ${fmt(a2)} |`);
console.log(`| (b) slipway serve, gbt100 ONNX, 1 row/request, payload log on | ${fmt(b)} |`);
console.log(`| (b0) slipway serve as (b), payload log off | ${fmt(b0)} |`);
if (c !== undefined) console.log(`| (c) FastAPI + uvicorn + scikit-learn, 1 row/request | ${fmt(c)} |`);
console.log(`| (b) with 64 rows/request | ${fmt(b64)} (${(b64.rps * 64).toFixed(0)} rows/s) |`);
console.log(`| (b) at half its max rate (${(b.rps / 2).toFixed(0)} req/s) | ${fmt(half)} |`);
console.log(
  `| (b) offered 2x its max rate, 256 connections | ${fmt(overload)} (${overload.ok} accepted, ${overload.non2xx} refused 429; accepted p99 in the server ${acceptedP99Ms.toFixed(1)} ms) |`,
);
console.log(
  `\nratios: (b)/(a) = ${(b.rps / a.rps).toFixed(2)}, (b)/(a2) = ${(b.rps / a2.rps).toFixed(2)}, (a2)/(a) = ${(a2.rps / a.rps).toFixed(2)}, (b0)/(a) = ${(b0.rps / a.rps).toFixed(2)}${c === undefined ? '' : `, (b)/(c) = ${(b.rps / c.rps).toFixed(1)}`}`,
);
if (a.cpuUsPerRequest !== undefined && b.cpuUsPerRequest !== undefined) {
  console.log(
    `server CPU per request: (b) ${b.cpuUsPerRequest.toFixed(1)} µs = ${(b.cpuUsPerRequest / a.cpuUsPerRequest).toFixed(1)}x (a)'s ${a.cpuUsPerRequest.toFixed(1)} µs${c?.cpuUsPerRequest === undefined ? '' : `; (c) ${c.cpuUsPerRequest.toFixed(1)} µs`}`,
  );
}
const logged = /slipway_payload_log_records_total (\d+)/.exec(metrics)?.[1];
const dropped = /slipway_payload_log_dropped_total (\d+)/.exec(metrics)?.[1];
console.log(`payload log: ${logged} records written, ${dropped} dropped`);
