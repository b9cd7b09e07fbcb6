import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFixture } from './support/models.js';
import { startTestServer, type TestServer } from './support/slipway.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

/** The `slipway` binary as a user runs it, against a real server. `npm test` builds dist/ first. */
describe('slipway CLI', () => {
  let server: TestServer;
  const slipway = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, [
        join(root, 'bin/slipway.js'),
        ...args,
        '--tracking-uri',
        server.url,
      ]);
      return { code: 0, stdout, stderr: '' };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/cli/main.js'))) await run('npm', ['run', 'build'], { cwd: root });
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('creates and lists experiments, runs and models, with --json', async () => {
    const created = await slipway('experiments', 'create', 'cli-exp', '--json');
    expect(created.code).toBe(0);
    const { experiment_id: experimentId } = JSON.parse(created.stdout) as { experiment_id: string };
    const run1 = await server.client.createRun({ experimentId, runName: 'cli-run' });
    await server.client.logMetric(run1.info.run_id, 'auc', 0.87);

    const listed = JSON.parse((await slipway('experiments', 'list', '--json')).stdout) as { name: string }[];
    expect(listed.map((e) => e.name)).toContain('cli-exp');
    const table = await slipway('experiments', 'list');
    expect(table.stdout).toMatch(/ID\s+NAME\s+STAGE/);

    const runs = JSON.parse(
      (await slipway('runs', 'list', '-e', experimentId, '--filter', 'metrics.auc > 0.5', '--json')).stdout,
    ) as {
      runs: { info: { run_name: string } }[];
    };
    expect(runs.runs.map((r) => r.info.run_name)).toEqual(['cli-run']);

    const registered = await slipway(
      'models',
      'register',
      'cli-model',
      's3://bucket/model',
      '--run-id',
      run1.info.run_id,
      '--json',
    );
    expect(JSON.parse(registered.stdout)).toMatchObject({ name: 'cli-model', version: '1' });
    expect((await slipway('models', 'alias', 'cli-model', 'champion', '1')).code).toBe(0);
    const card = await slipway('models', 'show', 'cli-model@champion');
    expect(card.stdout).toContain('# cli-model v1');
    expect(card.stdout).toContain('auc');
  });

  it('deploys, rolls back and shows endpoint history', async () => {
    await registerFixture(server, 'cli-wide', 'wide-linear.onnx');
    await registerFixture(server, 'cli-wide', 'wide-linear.onnx');
    expect((await slipway('deploy', 'cli-ep', 'cli-wide/1')).stdout).toContain('traffic: direct v1');
    const switched = await slipway(
      'deploy',
      'cli-ep',
      'cli-wide/2',
      '--policy',
      'blue-green',
      '--reason',
      'new data',
    );
    expect(switched.stdout).toContain('stable: v2');
    const rolled = JSON.parse((await slipway('rollback', 'cli-ep', '--json')).stdout) as {
      stable_version: string;
    };
    expect(rolled.stable_version).toBe('1');
    const history = JSON.parse((await slipway('endpoints', 'history', 'cli-ep', '--json')).stdout) as {
      kind: string;
      reason: string;
    }[];
    expect(history.map((e) => e.kind)).toEqual(['create', 'blue-green', 'rollback']);
    expect(history[1]?.reason).toBe('new data');
    const canary = await slipway(
      'deploy',
      'cli-ep',
      'cli-wide/2',
      '--policy',
      'canary',
      '--steps',
      '10,50',
      '--interval',
      '1h',
    );
    expect(canary.stdout).toMatch(/rollout \w+: running, v1 -> v2, step 1\/3 \(10%\)/);
    expect((await slipway('rollout', 'pause', 'cli-ep')).stdout).toContain('paused');
    expect((await slipway('rollout', 'promote', 'cli-ep')).stdout).toContain('stable: v2');
    const nothing = await slipway('rollout', 'promote', 'cli-ep');
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/INVALID_STATE \(400\): .*nothing to promote/);
    expect((await slipway('endpoints', 'list')).stdout).toMatch(/cli-ep\s+cli-wide\s+2\s+direct v2/);
  });

  it('exits non-zero with one clear line on a server error or an unreachable server', async () => {
    const missing = await slipway('experiments', 'get', 'no-such-experiment');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: RESOURCE_DOES_NOT_EXIST \(404\): .*no-such-experiment/);
    const bad = await slipway('runs', 'list', '-e', '0', '--filter', 'metrics.auc >>');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/position/);
    const { code, stderr } = await run(process.execPath, [
      join(root, 'bin/slipway.js'),
      'experiments',
      'list',
      '--tracking-uri',
      'http://127.0.0.1:59998',
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(code).toBe(1);
    expect(stderr).toContain('cannot reach the Slipway server');
  });
});
