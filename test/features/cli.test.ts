import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/slipway.js';
import { duck, writeFlightsFixture } from './flights-fixture.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

/** `slipway features ...` as a user runs it (the built binary), against a real server. */
describe('slipway features CLI', () => {
  let server: TestServer;
  let dir: string;
  let fixture: { yamlPath: string; entitiesPath: string };
  const slipway = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(root, 'bin/slipway.js'), ...args, '--tracking-uri', server.url],
        { cwd: dir },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/src/cli/main.js')) && !existsSync(join(root, 'dist/cli/main.js')))
      await run('npm', ['run', 'build'], { cwd: root });
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'slipway-features-cli-'));
    fixture = await writeFlightsFixture(dir);
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies definitions with a diff, and refuses a destructive change without --force', async () => {
    const applied = await slipway('features', 'apply', fixture.yamlPath);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('+ feature_view o1d');
    expect(applied.stdout).toContain('applied version 1');
    const again = await slipway('features', 'apply', fixture.yamlPath);
    expect(again.stdout).toContain('no changes');
    const listed = await slipway('features', 'list', '--json');
    const objects = (JSON.parse(listed.stdout) as { objects: { kind: string; name: string }[] }).objects;
    expect(objects.filter((o) => o.kind === 'feature_view').map((o) => o.name)).toEqual([
      'o1d',
      'o7d',
      'o2h',
      'dest',
    ]);
  });

  it('materializes and reads online values', async () => {
    const materialized = await slipway(
      'features',
      'materialize',
      '2001-01-01T00:00:00Z',
      '2001-02-10T15:30:00Z',
      '--json',
    );
    expect(materialized.code, materialized.stderr).toBe(0);
    expect((JSON.parse(materialized.stdout) as { rows: number }[]).every((r) => r.rows > 0)).toBe(true);
    const got = await slipway(
      'features',
      'get',
      '--features',
      'o1d:flights_1d',
      '--entity',
      'origin=SEA,XXX',
      '--json',
    );
    expect(got.code, got.stderr).toBe(0);
    const body = JSON.parse(got.stdout) as { results: { statuses: string[] }[] };
    // The data is from 2001 and the server's clock is today's: the 1 d TTL has long passed, and says so.
    expect(body.results[1]?.statuses).toEqual(['OUTSIDE_MAX_AGE', 'NOT_FOUND']);
    const table = await slipway(
      'features',
      'get',
      '--service',
      'delay_model',
      '--entity',
      'origin=SEA',
      '--entity',
      'distance=679',
    );
    expect(table.stdout).toMatch(/ORIGIN\s+AVG_DELAY_1D/);
    expect(table.stdout).toContain('(OUTSIDE_MAX_AGE)');
  });

  it('writes a training set to Parquet and logs it as a run input with its digest', async () => {
    const experimentId = await server.client.createExperiment('features-cli');
    const runInfo = await server.client.createRun({ experimentId });
    const runId = runInfo.info.run_id;
    const output = join(dir, 'train.parquet');
    const built = await slipway(
      'features',
      'historical',
      '--service',
      'delay_model',
      '--entities',
      fixture.entitiesPath,
      '--output',
      output,
      '--run-id',
      runId,
      '--json',
    );
    expect(built.code, built.stderr).toBe(0);
    const summary = JSON.parse(built.stdout) as { rows: number; sha256: string };
    const [count] = await duck(`SELECT count(*) AS n, count(ratio) AS ratios FROM read_parquet('${output}')`);
    expect(summary.rows).toBe(count?.n);
    expect(count?.ratios as number).toBeGreaterThan(1000);
    const logged = await server.client.getRun(runId);
    const input = logged.inputs.dataset_inputs?.[0];
    expect(input?.dataset.name).toBe('delay_model');
    expect(input?.dataset.digest).toBe(summary.sha256.slice(0, 16));
    expect(JSON.parse(input?.dataset.source ?? '{}')).toEqual({ uri: output, sha256: summary.sha256 });
    expect(input?.tags).toContainEqual({ key: 'mlflow.data.context', value: 'training' });
  });

  it('binds an endpoint and reports errors in one line', async () => {
    const bound = await slipway('features', 'bind', 'delays', '--service', 'delay_model', '--json');
    expect(bound.code, bound.stderr).toBe(0);
    const bindings = await slipway('features', 'bindings', '--json');
    expect(JSON.parse(bindings.stdout)).toMatchObject([
      { endpoint: 'delays', feature_service: 'delay_model' },
    ]);
    const bad = await slipway('features', 'get', '--features', 'o1d:nope', '--entity', 'origin=SEA');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: RESOURCE_DOES_NOT_EXIST \(404\): .*has no field 'nope'/);
  });
});
