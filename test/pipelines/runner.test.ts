import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/slipway.js';
import { api } from '../support/slipway.js';
import {
  applyAndRun,
  finished,
  removeWorkspaces,
  startPipelineServer,
  stepOf,
  workspace,
} from './support.js';

// A trainer in the spirit of `python train.py`: reads its param from the env, logs a metric to its run with the
// plain MLflow REST API, writes its outputs, and counts its own invocations (so a cache hit is visible).
const trainJs = `
const fs = require('node:fs');
const path = require('node:path');
fs.appendFileSync('calls.log', 'train\\n');
const out = process.env.SLIPWAY_OUTPUT_DIR;
fs.writeFileSync(path.join(out, 'model.txt'), 'lr=' + process.env.SLIPWAY_PARAM_LR + '\\n');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(MLFLOW|SLIPWAY)_/.test(k)));
fs.writeFileSync(path.join(out, 'env.json'), JSON.stringify({ env, argv: process.argv.slice(2) }));
fetch(process.env.MLFLOW_TRACKING_URI + '/api/2.0/mlflow/runs/log-metric', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ run_id: process.env.MLFLOW_RUN_ID, key: 'loss', value: 0.25, timestamp: Date.now(), step: 0 }),
}).then((r) => { if (!r.ok) process.exit(3); });
`;
const evalJs = `
const fs = require('node:fs');
const path = require('node:path');
fs.appendFileSync('calls.log', 'evaluate\\n');
const model = fs.readFileSync(process.env.SLIPWAY_INPUT_MODEL, 'utf8');
fs.writeFileSync(path.join(process.env.SLIPWAY_OUTPUT_DIR, 'score.txt'), 'scored ' + model);
`;
const cacheSpec = `name: cache-demo
params:
  lr: 0.1
steps:
  train:
    run: node train.js --lr \${params.lr}
    code: [train.js]
    outputs:
      model: model.txt
      env: env.json
  evaluate:
    run: node eval.js
    code: ["eval*.js"]
    inputs:
      model: steps.train.outputs.model
    outputs:
      score: score.txt
`;

describe('pipeline runner', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPipelineServer();
  });
  afterAll(async () => {
    await server?.close();
    await removeWorkspaces();
  });

  const waitRun = (id: string) => finished(server.client, id);
  const calls = async (dir: string) => (await readFile(join(dir, 'calls.log'), 'utf8')).trim().split('\n');
  const artifact = async (runId: string, path: string) => {
    const { tracking } = server.slipway.services;
    return (
      await server.slipway.services.blobs.read(`${await tracking.artifactRootOf(runId)}/${path}`)
    ).toString();
  };

  it('runs steps as nested tracking runs with the env a plain MLflow client needs', async () => {
    const dir = await workspace({ 'train.js': trainJs, 'eval.js': evalJs });
    const run = await applyAndRun(server.client, dir, cacheSpec);
    expect(run.status).toBe('succeeded');
    const train = stepOf(run, 'train');
    const evaluate = stepOf(run, 'evaluate');
    expect([train.status, evaluate.status]).toEqual(['succeeded', 'succeeded']);

    const { env, argv } = JSON.parse(await artifact(train.run_id ?? '', 'outputs/env.json'));
    expect(env.MLFLOW_RUN_ID).toBe(train.run_id);
    expect(env.MLFLOW_TRACKING_URI).toBe(server.url);
    expect(env.MLFLOW_EXPERIMENT_ID).toBe(run.experiment_id);
    expect(env.SLIPWAY_PIPELINE_RUN_ID).toBe(run.id);
    expect(env.SLIPWAY_STEP).toBe('train');
    expect(env.SLIPWAY_PARAM_LR).toBe('0.1');
    expect(argv).toEqual(['--lr', '0.1']);

    const stepRun = await server.client.getRun(train.run_id ?? '');
    const tags = Object.fromEntries((stepRun.data.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags['mlflow.parentRunId']).toBe(run.run_id);
    expect(tags['slipway.step']).toBe('train');
    expect(stepRun.info.status).toBe('FINISHED');
    expect(stepRun.data.params).toContainEqual({ key: 'lr', value: '0.1' });
    expect(stepRun.data.metrics?.map((m) => m.key).sort()).toEqual(['duration_seconds', 'loss']);
    const experiment = await server.client.getExperiment(run.experiment_id);
    expect(experiment.name).toBe('cache-demo');

    // The downstream step read the upstream output; its run records the input with its digest.
    expect(await artifact(evaluate.run_id ?? '', 'outputs/score.txt')).toBe('scored lr=0.1\n');
    const evalRun = await server.client.getRun(evaluate.run_id ?? '');
    expect(evalRun.inputs.dataset_inputs?.[0]?.dataset.digest).toBe(
      train.outputs?.model?.sha256.slice(0, 36),
    );
  });

  it('caches by code, params and input digests: hits reuse outputs, changes miss', async () => {
    const dir = await workspace({ 'train.js': trainJs, 'eval.js': evalJs });
    const first = await applyAndRun(server.client, dir, cacheSpec.replace('cache-demo', 'cache-hits'));
    expect(first.status).toBe('succeeded');

    const again = await applyAndRun(server.client, dir, cacheSpec.replace('cache-demo', 'cache-hits'));
    expect(again.steps.map((s) => [s.name, s.status])).toEqual([
      ['train', 'cached'],
      ['evaluate', 'cached'],
    ]);
    expect(stepOf(again, 'train').cached_from).toBe(stepOf(first, 'train').run_id);
    expect(stepOf(again, 'evaluate').outputs).toEqual(stepOf(first, 'evaluate').outputs);
    const cachedRun = await server.client.getRun(stepOf(again, 'train').run_id ?? '');
    expect(cachedRun.data.tags).toContainEqual({
      key: 'slipway.cached_from',
      value: stepOf(first, 'train').run_id,
    });
    expect(await calls(dir)).toEqual(['train', 'evaluate']);

    // A changed param changes train's key and, through its output's digest, evaluate's.
    const newParam = await server.client
      .startPipelineRun('cache-hits', { lr: '0.2' })
      .then((r) => waitRun(r.id));
    expect(newParam.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    expect(await artifact(stepOf(newParam, 'evaluate').run_id ?? '', 'outputs/score.txt')).toBe(
      'scored lr=0.2\n',
    );

    // Changed code misses; an identical output then makes the downstream step a hit again.
    await appendFile(join(dir, 'train.js'), '// a comment changes the code digest\n');
    const newCode = await server.client.startPipelineRun('cache-hits').then((r) => waitRun(r.id));
    expect(newCode.steps.map((s) => s.status)).toEqual(['succeeded', 'cached']);
    expect(await calls(dir)).toEqual(['train', 'evaluate', 'train', 'evaluate', 'train']);
  });

  it('retries a failing step with backoff until it succeeds, and fails after the last attempt', async () => {
    const dir = await workspace({});
    const spec = (retries: number) => `name: flaky-${retries}
steps:
  flaky:
    run: >-
      node -e "console.log('attempt', process.env.SLIPWAY_ATTEMPT);
      process.exit(Number(process.env.SLIPWAY_ATTEMPT) < 3 ? 1 : 0)"
    retries: ${retries}
    backoff_ms: 10
`;
    const ok = await applyAndRun(server.client, dir, spec(3));
    expect(ok.status).toBe('succeeded');
    expect(stepOf(ok, 'flaky').attempts).toBe(3);
    const log = await server.client.pipelineStepLogs(ok.id, 'flaky');
    expect(log).toContain('attempt 1 failed: exited with code 1');
    expect(log).toContain('attempt 2 failed: exited with code 1');
    expect(log).toContain('succeeded on attempt 3');

    const exhausted = await applyAndRun(server.client, dir, spec(1));
    expect(exhausted.status).toBe('failed');
    expect(stepOf(exhausted, 'flaky')).toMatchObject({ status: 'failed', attempts: 2, exit_code: 1 });
  });

  it('kills a step that outlives its timeout', async () => {
    const dir = await workspace({});
    const run = await applyAndRun(
      server.client,
      dir,
      `name: slow
steps:
  sleep:
    run: node -e "setTimeout(() => {}, 60000)"
    timeout_ms: 300
`,
    );
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'sleep').error).toBe('timed out after 300 ms');
    const stepRun = await server.client.getRun(stepOf(run, 'sleep').run_id ?? '');
    expect(stepRun.info.status).toBe('FAILED');
  });

  it("keeps a failing step's logs and resumes the run from the failed step", async () => {
    const dir = await workspace({
      'check.js': `
const fs = require('node:fs');
fs.appendFileSync('calls.log', 'check\\n');
if (!fs.existsSync('ready.flag')) { console.error('boom: ready.flag is missing'); process.exit(2); }
fs.writeFileSync(require('node:path').join(process.env.SLIPWAY_OUTPUT_DIR, 'ok.txt'), 'ok');
`,
    });
    const spec = `name: resumable
steps:
  prepare:
    run: node -e "require('fs').appendFileSync('calls.log', 'prepare\\\\n')"
  check:
    run: node check.js
    needs: [prepare]
    outputs: { ok: ok.txt }
  publish:
    run: node -e "console.log(require('fs').readFileSync(process.env.SLIPWAY_INPUT_OK, 'utf8'))"
    inputs: { ok: steps.check.outputs.ok }
`;
    const failed = await applyAndRun(server.client, dir, spec);
    expect(failed.status).toBe('failed');
    expect(failed.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped']);
    expect(stepOf(failed, 'check').exit_code).toBe(2);
    expect(stepOf(failed, 'publish').error).toContain("step 'check' did not succeed");

    const log = await api(server.url, 'GET', `/api/v1/pipeline-runs/${failed.id}/steps/check/logs`);
    expect(log.status).toBe(200);
    expect(log.json.log).toContain('boom: ready.flag is missing');
    expect(log.json.log).toContain('exited with code 2');
    // The log is also an artifact of the step's tracking run.
    expect(await artifact(stepOf(failed, 'check').run_id ?? '', 'logs/step.log')).toContain('boom');

    await writeFile(join(dir, 'ready.flag'), '');
    const resumed = await server.client.resumePipelineRun(failed.id);
    expect(resumed.id).toBe(failed.id);
    const done = await waitRun(failed.id);
    expect(done.status).toBe('succeeded');
    expect(done.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(stepOf(done, 'prepare').run_id).toBe(stepOf(failed, 'prepare').run_id);
    expect(await calls(dir)).toEqual(['prepare', 'check', 'check']);
    expect(await server.client.pipelineStepLogs(done.id, 'publish')).toContain('ok');

    const again = await api(server.url, 'POST', `/api/v1/pipeline-runs/${failed.id}/resume`, {});
    expect(again.status).toBe(400);
    expect(again.json.message).toContain('only a failed run can be resumed');
  });

  it('runs independent branches in parallel', async () => {
    // Each branch waits until the other has started: run one after the other, both would time out and fail.
    const rendezvous = `
const fs = require('node:fs');
const [me, other] = process.argv.slice(2);
const dir = 'rendezvous-' + process.env.SLIPWAY_PIPELINE_RUN_ID;
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(dir + '/' + me, '');
const deadline = Date.now() + 15000;
const wait = () => {
  if (fs.existsSync(dir + '/' + other)) process.exit(0);
  if (Date.now() > deadline) { console.error(other + ' never started'); process.exit(1); }
  setTimeout(wait, 20);
};
wait();
`;
    const dir = await workspace({ 'rendezvous.js': rendezvous });
    const run = await applyAndRun(
      server.client,
      dir,
      `name: diamond
steps:
  start:
    run: node -e "0"
  left:
    run: node rendezvous.js left right
    needs: [start]
  right:
    run: node rendezvous.js right left
    needs: [start]
  join:
    run: node -e "0"
    needs: [left, right]
`,
    );
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([
      ['start', 'succeeded'],
      ['left', 'succeeded'],
      ['right', 'succeeded'],
      ['join', 'succeeded'],
    ]);
    const left = stepOf(run, 'left');
    const right = stepOf(run, 'right');
    expect((left.started_at ?? 0) < (right.finished_at ?? 0)).toBe(true);
    expect((right.started_at ?? 0) < (left.finished_at ?? 0)).toBe(true);
  });

  it('rejects bad specs with the offending line, and bad run requests with the field', async () => {
    const dir = await workspace({});
    const apply = (spec: string) =>
      api(server.url, 'POST', '/api/v1/pipelines', { spec, working_dir: dir, source: 'spec.yaml' });

    const cycle = await apply(
      'name: c\nsteps:\n  a:\n    run: x\n    needs: [b]\n  b:\n    run: y\n    needs: [a]\n',
    );
    expect(cycle.status).toBe(400);
    expect(cycle.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(cycle.json.message).toContain('spec.yaml:5:');
    expect(cycle.json.message).toContain('dependency cycle: a -> b -> a');

    const unknown = await apply('name: u\nsteps:\n  a:\n    run: x\n    needs:\n      - ghost\n');
    expect(unknown.json.message).toMatch(/spec\.yaml:6:9: steps\.a\.needs\[0\]: unknown step 'ghost'/);

    const missing = await apply(
      'name: m\nsteps:\n  a:\n    run: x\n  b:\n    run: y\n    inputs:\n      data: data/train.parquet\n      m: steps.a.outputs.model\n',
    );
    expect(missing.status).toBe(400);
    expect(missing.json.message).toContain(
      "spec.yaml:8:13: steps.b.inputs.data: missing input: file 'data/train.parquet'",
    );
    expect(missing.json.message).toContain(
      "spec.yaml:9:10: steps.b.inputs.m: missing input: step 'a' declares no output 'model'",
    );

    const badDir = await api(server.url, 'POST', '/api/v1/pipelines', {
      spec: 'name: x',
      working_dir: 'relative/dir',
    });
    expect(badDir.status).toBe(400);
    expect(badDir.json.message).toContain("'working_dir'");

    await server.client.applyPipeline(
      'name: params-demo\nparams: { lr: 0.1 }\nsteps:\n  a:\n    run: node -e "0"\n',
      dir,
    );
    const badParam = await api(server.url, 'POST', '/api/v1/pipelines/params-demo/runs', {
      params: { epochs: 3 },
    });
    expect(badParam.status).toBe(400);
    expect(badParam.json.message).toContain("Invalid parameter 'epochs'");
    const noPipeline = await api(server.url, 'POST', '/api/v1/pipelines/nope/runs', {});
    expect(noPipeline.status).toBe(404);
    const noRun = await api(server.url, 'GET', '/api/v1/pipeline-runs/nope');
    expect(noRun.status).toBe(404);

    // Applying the same spec again keeps the version; a change makes a new one.
    const same = await server.client.applyPipeline(
      'name: params-demo\nparams: { lr: 0.1 }\nsteps:\n  a:\n    run: node -e "0"\n',
      dir,
    );
    expect(same).toMatchObject({ changed: false, pipeline: { version: 1 } });
    const changed = await server.client.applyPipeline(
      'name: params-demo\nparams: { lr: 0.2 }\nsteps:\n  a:\n    run: node -e "0"\n',
      dir,
    );
    expect(changed).toMatchObject({ changed: true, pipeline: { version: 2 } });
  });
});
