import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturesDir } from '../support/models.js';
import type { TestServer } from '../support/slipway.js';
import {
  applyAndRun,
  finished,
  removeWorkspaces,
  startPipelineServer,
  stepOf,
  waitFor,
  workspace,
  writeFiles,
} from './support.js';

const copyInput = (output: string) =>
  `node -e "require('fs').copyFileSync(process.env.SLIPWAY_TRIGGER_INPUT, require('path').join(process.env.SLIPWAY_OUTPUT_DIR, '${output}'))"`;

describe('pipeline built-in steps and triggers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startPipelineServer();
  });
  afterAll(async () => {
    await server?.close();
    await removeWorkspaces();
  });

  it('registers the trained model with its run, dataset and code as lineage, then deploys it', async () => {
    const dir = await workspace({
      'data/train.csv': 'x,y\n1,2\n3,4\n',
      'train.js': `require('node:fs').copyFileSync('linear.onnx', require('node:path').join(process.env.SLIPWAY_OUTPUT_DIR, 'model.onnx'));`,
      'linear.onnx': await readFile(join(fixturesDir, 'linear.onnx')),
    });
    const run = await applyAndRun(
      server.client,
      dir,
      `name: train-and-ship
params:
  endpoint: pipeline-ep
steps:
  train:
    run: node train.js
    code: [train.js, linear.onnx]
    inputs:
      train: data/train.csv
    outputs:
      model: model.onnx
  register:
    uses: register
    with:
      model: pipeline-model
      output: steps.train.outputs.model
      alias: candidate
  deploy:
    uses: deploy
    with:
      endpoint: \${params.endpoint}
      model: pipeline-model/\${steps.register.version}
`,
    );
    expect(run.steps.map((s) => [s.name, s.status, s.error])).toEqual([
      ['train', 'succeeded', undefined],
      ['register', 'succeeded', undefined],
      ['deploy', 'succeeded', undefined],
    ]);
    const train = stepOf(run, 'train');
    expect(stepOf(run, 'register').result).toMatchObject({ model: 'pipeline-model', version: '1' });

    const detail = await server.client.getModelVersionDetail('pipeline-model', '1');
    expect(detail.model_version.run_id).toBe(train.run_id);
    expect(detail.model_version.aliases).toContain('candidate');
    expect(detail.model_version.tags).toContainEqual({ key: 'slipway.pipeline_run_id', value: run.id });
    expect(detail.flavor).toBe('onnx');
    expect(detail.lineage.run_id).toBe(train.run_id);
    expect(detail.lineage.datasets).toHaveLength(1);
    expect(detail.lineage.datasets[0]).toMatchObject({ name: 'train', source_type: 'local' });
    const trainRun = await server.client.getRun(train.run_id ?? '');
    expect(trainRun.data.tags?.find((t) => t.key === 'slipway.code_digest')?.value).toMatch(/^[0-9a-f]{64}$/);

    const endpoint = await server.client.getEndpoint('pipeline-ep');
    expect(endpoint.stable_version).toBe('1');
    expect(stepOf(run, 'deploy').result).toMatchObject({ endpoint: 'pipeline-ep', stable_version: '1' });

    // Run again: training is a cache hit, so the same file is not registered twice.
    const again = await finished(server.client, (await server.client.startPipelineRun('train-and-ship')).id);
    expect(again.steps.map((s) => s.status)).toEqual(['cached', 'succeeded', 'succeeded']);
    expect(stepOf(again, 'register').result).toMatchObject({ version: '1', reused: 'true' });
  });

  it('fails a register step whose output is not a model, naming why', async () => {
    const dir = await workspace({});
    const run = await applyAndRun(
      server.client,
      dir,
      `name: bad-model
steps:
  train:
    run: node -e "require('fs').writeFileSync(process.env.SLIPWAY_OUTPUT_DIR + '/model.onnx', 'not a model')"
    outputs: { model: model.onnx }
  register:
    uses: register
    with: { model: bad-model, output: steps.train.outputs.model }
`,
    );
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'register').status).toBe('failed');
    expect(stepOf(run, 'register').error).toBeTruthy();
    expect(await server.client.pipelineStepLogs(run.id, 'register')).toContain('error:');
  });

  it('runs the gate step against this server, and a gate error fails the step and what follows', async () => {
    const dir = await workspace({ 'holdout.csv': 'x,label\n1,0\n2,1\n' });
    const run = await applyAndRun(
      server.client,
      dir,
      `name: gated
steps:
  gate:
    uses: gate
    with:
      candidate: no-such-model/1
      data: holdout.csv
      metrics: ["auc:min=0.5"]
  deploy:
    uses: deploy
    needs: [gate]
    with: { endpoint: never, model: no-such-model/1 }
`,
    );
    expect(run.steps.map((s) => s.status)).toEqual(['failed', 'skipped']);
    expect(stepOf(run, 'gate').error).toContain('no-such-model');
    const gateRun = await server.client.getRun(stepOf(run, 'gate').run_id ?? '');
    expect(gateRun.data.params).toContainEqual({ key: 'candidate', value: 'no-such-model/1' });
  });

  it('starts a run for an alert, with the alert as the steps input', async () => {
    const dir = await workspace({});
    await server.client.applyPipeline(
      `name: retrain-on-alert
steps:
  read-alert:
    run: ${copyInput('alert.json')}
    outputs: { alert: alert.json }
`,
      dir,
    );
    const alert = { rule: 'feature drift', metric: 'psi', value: 0.31, endpoint: 'fraud' };
    const started = await server.slipway.services.pipelines.triggerPipeline('retrain-on-alert', {
      reason: 'alert',
      input: alert,
    });
    const run = await finished(server.client, started.id);
    expect(run).toMatchObject({ status: 'succeeded', reason: 'alert' });
    expect(run.params.trigger_reason).toBe('alert');
    const output = stepOf(run, 'read-alert').outputs?.alert;
    const root = await server.slipway.services.tracking.artifactRootOf(output?.run_id ?? '');
    const seen = JSON.parse((await server.slipway.services.blobs.read(`${root}/${output?.path}`)).toString());
    expect(seen).toEqual(alert);
  });

  it('fires cron schedules', async () => {
    const dir = await workspace({});
    await server.client.applyPipeline(
      `name: every-second
schedule: "* * * * * *"
steps:
  tick:
    run: node -e "0"
`,
      dir,
    );
    const runs = await waitFor(
      () => server.client.listPipelineRuns('every-second'),
      (list) => list.some((r) => r.reason === 'schedule' && r.status === 'succeeded'),
      'a scheduled run',
    );
    expect(runs[0]?.params.trigger_input).not.toBe('');
    // A new version without a schedule stops it.
    await server.client.applyPipeline('name: every-second\nsteps:\n  tick:\n    run: node -e "0"\n', dir);
    const count = (await server.client.listPipelineRuns('every-second')).length;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await server.client.listPipelineRuns('every-second')).length).toBeLessThanOrEqual(count + 1);
  });

  it('triggers once per change of the watched data', async () => {
    const dir = await workspace({ 'incoming/old.csv': 'a\n1\n' });
    await server.client.applyPipeline(
      `name: on-new-data
on:
  data:
    path: "incoming/*.csv"
    poll_seconds: 0.1
steps:
  ingest:
    run: ${copyInput('changes.json')}
    outputs: { changes: changes.json }
`,
      dir,
    );
    // Files present at apply time are the baseline, not a change.
    await new Promise((r) => setTimeout(r, 500));
    expect(await server.client.listPipelineRuns('on-new-data')).toEqual([]);

    await writeFiles(dir, { 'incoming/new.csv': 'a\n2\n' });
    const [run] = await waitFor(
      () => server.client.listPipelineRuns('on-new-data'),
      (list) => list.length > 0 && list.every((r) => r.status !== 'running'),
      'a data-triggered run',
    );
    expect(run?.reason).toBe('data');
    const output = stepOf(run!, 'ingest').outputs?.changes;
    const root = await server.slipway.services.tracking.artifactRootOf(output?.run_id ?? '');
    const input = JSON.parse(
      (await server.slipway.services.blobs.read(`${root}/${output?.path}`)).toString(),
    ) as {
      files: { path: string }[];
    };
    expect(input.files.map((f) => f.path)).toEqual(['incoming/new.csv', 'incoming/old.csv']);
    // Several more polls see no further change.
    await new Promise((r) => setTimeout(r, 600));
    expect(await server.client.listPipelineRuns('on-new-data')).toHaveLength(1);

    await writeFile(join(dir, 'incoming/new.csv'), 'a\n2\n3\n');
    await waitFor(
      () => server.client.listPipelineRuns('on-new-data'),
      (list) => list.length === 2,
      'a second data-triggered run',
    );
  });

  const hasCluster =
    process.env.KUBERNETES_SERVICE_HOST !== undefined ||
    process.env.KUBECONFIG !== undefined ||
    existsSync(join(homedir(), '.kube', 'config'));

  it.skipIf(hasCluster)('fails a kubernetes step clearly when no cluster is configured', async () => {
    const dir = await workspace({});
    const run = await applyAndRun(
      server.client,
      dir,
      `name: on-k8s
executor: kubernetes
kubernetes: { image: "node:20-slim", namespace: ml }
steps:
  train:
    run: node -e "0"
`,
    );
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'train').error).toContain('No Kubernetes cluster configured');
  });
});
