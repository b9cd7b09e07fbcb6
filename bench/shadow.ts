/**
 * Shadow deployment benchmark: does a slow challenger in shadow change what clients see?
 *
 *   npm run build && npx tsx bench/shadow.ts [--seconds 10] [--connections 16]
 *
 * One `slipway server` (child process) with an endpoint whose champion is test/fixtures/models/wide-linear.onnx.
 * autocannon measures the champion alone, then with test/fixtures/models/wide-slow.onnx (same signature, tens of
 * times slower to run) in shadow. Reported: client p50/p99 both ways and their ratio, and the shadow report.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedModelVersions } from '../test/support/seed.js';
import { autocannon, randomPort, startSlipwayProcess } from './http-load.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '16' } },
});
const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-shadow-'));
await seedModelVersions(dataDir, 'delay', ['wide-linear.onnx', 'wide-slow.onnx']);
const server = await startSlipwayProcess(
  ['server', '--data-dir', dataDir, '--log-level', 'warn'],
  randomPort(),
  '/health',
);

const deploy = async (body: object) => {
  const response = await fetch(`${server.base}/api/v1/endpoints/delay-ep/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await response.text());
};
const body = JSON.stringify({
  inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] }],
});
const url = `${server.base}/v2/models/delay-ep/infer`;
const connections = Number(values.connections);
const load = (durationS: number) => autocannon(url, body, { connections, durationS });

await deploy({ model: 'delay/1' });
load(2);
const alone = load(Number(values.seconds));
await deploy({ model: 'delay/2', policy: 'shadow' });
load(2);
const shadowed = load(Number(values.seconds));
const report = (await (await fetch(`${server.base}/api/v1/endpoints/delay-ep/shadow`)).json()) as Record<
  string,
  number | null
>;
await server.stop();
await rm(dataDir, { recursive: true, force: true });

const row = (name: string, r: typeof alone) =>
  `| ${name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors + r.non2xx} |`;
console.log(`\nShadow benchmark: ${values.seconds}s per run, ${values.connections} connections`);
console.log('| endpoint | req/s | p50 ms | p99 ms | failed |');
console.log('|---|---|---|---|---|');
console.log(row('champion alone', alone));
console.log(row('champion + slow challenger in shadow', shadowed));
console.log(`\nclient p99 with shadow / without: ${(shadowed.p99 / alone.p99).toFixed(2)}`);
console.log(
  `shadow: ${report.requests} copies compared, ${report.skipped} skipped (challenger busy); challenger p99 ` +
    `${Number(report.challenger_p99_ms).toFixed(2)} ms vs champion p99 ${Number(report.champion_p99_ms).toFixed(2)} ms in the server`,
);
