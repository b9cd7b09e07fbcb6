import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineRunView } from '../../src/pipelines/index.js';
import type { TestServer } from '../support/slipway.js';
import { removeWorkspaces, startPipelineServer, workspace } from './support.js';

const exec = promisify(execFile);
const entry = join(import.meta.dirname, 'cli-entry.ts');

describe('slipway pipelines CLI', () => {
  let server: TestServer;
  const slipway = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await exec(process.execPath, [
        '--import',
        'tsx',
        entry,
        ...args,
        '--tracking-uri',
        server.url,
      ]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    server = await startPipelineServer();
  });
  afterAll(async () => {
    await server?.close();
    await removeWorkspaces();
  });

  it('applies and runs a spec file, follows it, and exits non-zero when it fails', async () => {
    const dir = await workspace({
      'spec.yaml': `name: cli-demo
params:
  fail: "no"
steps:
  hello:
    run: node -e "console.log('hello', process.env.SLIPWAY_PARAM_FAIL)"
    env:
      SLIPWAY_PARAM_FAIL: \${params.fail}
  check:
    run: node -e "if (process.argv[1] === 'yes') { console.error('asked to fail'); process.exit(4) }" \${params.fail}
    needs: [hello]
`,
    });
    const spec = join(dir, 'spec.yaml');
    const ok = await slipway('pipelines', 'run', spec, '--wait');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/hello: succeeded/);
    expect(ok.stdout).toMatch(/pipeline run [0-9a-f]{32}: succeeded/);

    const bad = await slipway('pipelines', 'run', 'cli-demo', '--param', 'fail=yes', '--wait');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/check: failed \(exited with code 4\)/);
    const runId = /logs: slipway pipelines logs ([0-9a-f]{32}) check/.exec(bad.stdout)?.[1] ?? '';
    const logs = await slipway('pipelines', 'logs', runId, 'check');
    expect(logs.stdout).toContain('asked to fail');

    const runs = JSON.parse(
      (await slipway('pipelines', 'runs', 'cli-demo', '--json')).stdout,
    ) as PipelineRunView[];
    expect(runs.map((r) => [r.id === runId, r.status, r.steps.map((s) => s.status)])).toEqual([
      [true, 'failed', ['succeeded', 'failed']],
      [false, 'succeeded', ['succeeded', 'succeeded']],
    ]);

    // Resuming re-runs the failed step with the run's own params, so it fails again; the exit code says so.
    const resumed = await slipway('pipelines', 'resume', runId, '--wait');
    expect(resumed.code).toBe(1);
    expect(resumed.stdout).toMatch(/check: failed/);
  });

  it('prints spec errors with their line and exits 1', async () => {
    const dir = await workspace({});
    await writeFile(join(dir, 'broken.yaml'), 'name: broken\nsteps:\n  a:\n    run: x\n    needs: [zz]\n');
    const result = await slipway('pipelines', 'apply', join(dir, 'broken.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("broken.yaml:5:13: steps.a.needs[0]: unknown step 'zz' (steps: a)");
  });
});
