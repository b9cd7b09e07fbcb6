/**
 * Shadow deployment benchmark: does a slow challenger in shadow change what clients see?
 *
 *   npm run build && npx tsx bench/shadow.ts [--seconds 10] [--connections 16]
 *
 * One `slipway server` (child process) with an endpoint whose champion is test/fixtures/models/wide-linear.onnx.
 * autocannon measures the champion alone, then with test/fixtures/models/wide-slow.onnx (same signature, tens of
 * times slower to run) in shadow. Reported: client p50/p99 both ways and their ratio, and the shadow report.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedModelVersions } from '../test/support/seed.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '16' } },
});
const root = join(import.meta.dirname, '..');
const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-shadow-'));
await seedModelVersions(dataDir, 'delay', ['wide-linear.onnx', 'wide-slow.onnx']);

const port = 20000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}`;
const server: ChildProcess = spawn(
  process.execPath,
  [
    join(root, 'bin/slipway.js'),
    'server',
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--log-level',
    'warn',
  ],
  {
    stdio: 'inherit',
  },
);
for (
  let i = 0;
  (await fetch(`${base}/health`).then(
    (r) => r.status,
    () => 0,
  )) !== 200;
  i++
) {
  if (i > 300) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 100));
}
const deploy = (body: object) =>
  fetch(`${base}/api/v1/endpoints/delay-ep/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => {
    if (!r.ok) throw new Error(await r.text());
  });

const body = JSON.stringify({
  inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] }],
});
const load = (seconds: string) => {
  const run = spawnSync(
    join(root, 'node_modules/.bin/autocannon'),
    [
      '-c',
      String(values.connections),
      '-d',
      seconds,
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      body,
      '--json',
      `${base}/v2/models/delay-ep/infer`,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const out = JSON.parse(run.stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return {
    rps: out.requests.average,
    p50: out.latency.p50,
    p99: out.latency.p99,
    failed: out.errors + out.non2xx,
  };
};

await deploy({ model: 'delay/1' });
load('2');
const alone = load(String(values.seconds));
await deploy({ model: 'delay/2', policy: 'shadow' });
load('2');
const shadowed = load(String(values.seconds));
const report = (await (await fetch(`${base}/api/v1/endpoints/delay-ep/shadow`)).json()) as Record<
  string,
  number | null
>;

const exited = new Promise((r) => server.once('exit', r));
server.kill('SIGTERM');
await exited;
await rm(dataDir, { recursive: true, force: true });

console.log(`\nShadow benchmark: ${values.seconds}s per run, ${values.connections} connections`);
console.log('| endpoint | req/s | p50 ms | p99 ms | failed |');
console.log('|---|---|---|---|---|');
console.log(`| champion alone | ${alone.rps.toFixed(0)} | ${alone.p50} | ${alone.p99} | ${alone.failed} |`);
console.log(
  `| champion + slow challenger in shadow | ${shadowed.rps.toFixed(0)} | ${shadowed.p50} | ${shadowed.p99} | ${shadowed.failed} |`,
);
console.log(`\nclient p99 with shadow / without: ${(shadowed.p99 / alone.p99).toFixed(2)}`);
console.log(
  `shadow: ${report.requests} copies compared, ${report.skipped} skipped (challenger busy); challenger p99 ${Number(report.challenger_p99_ms).toFixed(2)} ms vs champion p99 ${Number(report.champion_p99_ms).toFixed(2)} ms in the server`,
);
