import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/core/config.js';
import type { SlipwayError } from '../../src/core/errors.js';
import { createServices, type SlipwayServices } from '../../src/server.js';

/** Expects a promise to reject with a SlipwayError of this code whose message contains `fragment`. */
export async function expectError(
  promise: Promise<unknown>,
  code: string,
  fragment?: string | RegExp,
): Promise<SlipwayError> {
  const error = (await promise.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  )) as SlipwayError;
  expect(error.code, error.message).toBe(code);
  if (fragment !== undefined) expect(error.message).toMatch(fragment);
  return error;
}

/**
 * The storage contract of tracking and registry, run identically on every dialect. It goes through the
 * services, so every SQL statement the server issues is exercised.
 */
export function defineStorageSuite(
  dialect: string,
  databaseUrl: () => Promise<{ url?: string; stop(): Promise<void> }>,
): void {
  describe(`tracking and registry storage on ${dialect}`, () => {
    let services: SlipwayServices;
    let dataDir: string;
    let stopDb: () => Promise<void>;

    beforeAll(async () => {
      const db = await databaseUrl();
      stopDb = db.stop;
      dataDir = await mkdtemp(join(tmpdir(), 'slipway-storage-'));
      services = await createServices(
        resolveServerConfig({ dataDir, ...(db.url !== undefined && { db: db.url }) }),
      );
    });

    afterAll(async () => {
      await services?.close();
      await stopDb?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('has the Default experiment 0 and numbers new experiments from 1', async () => {
      const { tracking } = services;
      expect((await tracking.getExperiment('0')).name).toBe('Default');
      const id = await tracking.createExperiment({ name: 'first' });
      expect(Number(id)).toBeGreaterThanOrEqual(1);
      const experiment = await tracking.getExperiment(id);
      expect(experiment.artifact_location).toBe(`mlflow-artifacts:/${id}`);
    });

    it('creates, finds, renames, deletes and restores experiments', async () => {
      const { tracking } = services;
      const id = await tracking.createExperiment({ name: 'exp-a', tags: [{ key: 'team', value: 'risk' }] });
      await expectError(tracking.createExperiment({ name: 'exp-a' }), 'RESOURCE_ALREADY_EXISTS', 'exp-a');
      expect((await tracking.getExperimentByName('exp-a')).tags).toEqual([{ key: 'team', value: 'risk' }]);
      await expectError(tracking.getExperimentByName('nope'), 'RESOURCE_DOES_NOT_EXIST');
      await expectError(tracking.getExperiment('999999'), 'RESOURCE_DOES_NOT_EXIST', 'id=999999');
      await tracking.updateExperiment(id, 'exp-b');
      expect((await tracking.getExperiment(id)).name).toBe('exp-b');

      const run = await tracking.createRun({ experimentId: id });
      await tracking.setExperimentLifecycle(id, 'deleted');
      expect((await tracking.getRun(run.info.run_id)).info.lifecycle_stage).toBe('deleted');
      await expectError(
        tracking.createRun({ experimentId: id }),
        'INVALID_PARAMETER_VALUE',
        "'active' state",
      );
      await expectError(
        tracking.logBatch({ runId: run.info.run_id, params: [{ key: 'a', value: '1' }] }),
        'INVALID_PARAMETER_VALUE',
        "must be in the 'active' state",
      );
      await tracking.setExperimentLifecycle(id, 'active');
      expect((await tracking.getRun(run.info.run_id)).info.lifecycle_stage).toBe('active');
    });

    it('searches experiments with filters, order and page tokens', async () => {
      const { tracking } = services;
      for (const name of ['search-3', 'search-1', 'search-2']) await tracking.createExperiment({ name });
      const sorted = await tracking.searchExperiments({
        filter: "name LIKE 'search-%'",
        orderBy: ['name ASC'],
      });
      expect(sorted.items.map((e) => e.name)).toEqual(['search-1', 'search-2', 'search-3']);
      const first = await tracking.searchExperiments({
        filter: "name LIKE 'search-%'",
        orderBy: ['name DESC'],
        maxResults: 2,
      });
      expect(first.items.map((e) => e.name)).toEqual(['search-3', 'search-2']);
      expect(first.nextPageToken).toBeDefined();
      const second = await tracking.searchExperiments({
        filter: "name LIKE 'search-%'",
        orderBy: ['name DESC'],
        maxResults: 2,
        ...(first.nextPageToken !== undefined && { pageToken: first.nextPageToken }),
      });
      expect(second.items.map((e) => e.name)).toEqual(['search-1']);
      expect(second.nextPageToken).toBeUndefined();
    });

    it('logs metrics, params and tags with MLflow semantics', async () => {
      const { tracking } = services;
      const experimentId = await tracking.createExperiment({ name: 'logging' });
      const run = await tracking.createRun({
        experimentId,
        runName: 'r1',
        tags: [{ key: 'team', value: 'ml' }],
      });
      const runId = run.info.run_id;
      expect(run.info.run_name).toBe('r1');
      expect(run.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'r1' });
      expect(run.info.artifact_uri).toBe(`mlflow-artifacts:/${experimentId}/${runId}/artifacts`);

      await tracking.logBatch({
        runId,
        metrics: [
          { key: 'loss', value: 0.5, timestamp: 1000, step: 2 },
          { key: 'loss', value: 0.9, timestamp: 2000, step: 1 },
          { key: 'loss', value: 0.7, timestamp: 900, step: 0 },
          { key: 'weird', value: Number.NaN, timestamp: 1, step: 0 },
          { key: 'big', value: Number.POSITIVE_INFINITY, timestamp: 1, step: 0 },
        ],
        params: [{ key: 'alpha', value: '0.5' }],
        tags: [{ key: 'stage', value: 'dev' }],
      });
      // A later call with a lower step must not replace the latest value.
      await tracking.logBatch({ runId, metrics: [{ key: 'loss', value: 0.1, timestamp: 5000, step: 1 }] });
      const loaded = await tracking.getRun(runId);
      const metrics = Object.fromEntries((loaded.data.metrics ?? []).map((m) => [m.key, m]));
      expect(metrics.loss).toMatchObject({ value: 0.5, step: 2 });
      expect(metrics.weird?.value).toBe('NaN');
      expect(metrics.big?.value).toBe('Infinity');
      const history = await tracking.getMetricHistory({ runId, metricKey: 'loss' });
      expect(history.items.map((m) => [m.step, m.value])).toEqual([
        [0, 0.7],
        [1, 0.9],
        [1, 0.1],
        [2, 0.5],
      ]);

      // Same param value again is fine; a different one is refused and nothing else in the batch is written.
      await tracking.logBatch({ runId, params: [{ key: 'alpha', value: '0.5' }] });
      await expectError(
        tracking.logBatch({
          runId,
          params: [{ key: 'alpha', value: '0.6' }],
          metrics: [{ key: 'should-not-exist', value: 1, timestamp: 1, step: 0 }],
        }),
        'INVALID_PARAMETER_VALUE',
        "Changing param values is not allowed. Param with key='alpha' was already logged with value='0.5'",
      );
      const after = await tracking.getRun(runId);
      expect(after.data.metrics?.map((m) => m.key)).not.toContain('should-not-exist');

      await tracking.deleteTag(runId, 'stage');
      expect((await tracking.getRun(runId)).data.tags?.map((t) => t.key)).not.toContain('stage');
      await expectError(tracking.deleteTag(runId, 'stage'), 'RESOURCE_DOES_NOT_EXIST');

      const finished = await tracking.updateRun({ runId, status: 'FINISHED', endTime: 123456 });
      expect(finished.info).toMatchObject({ status: 'FINISHED', end_time: 123456 });
    });

    it('refuses oversize and invalid batches without writing any part', async () => {
      const { tracking } = services;
      const experimentId = await tracking.createExperiment({ name: 'limits' });
      const runId = (await tracking.createRun({ experimentId })).info.run_id;
      const metrics = Array.from({ length: 1001 }, (_, i) => ({
        key: `m${i}`,
        value: i,
        timestamp: 1,
        step: 0,
      }));
      await expectError(
        tracking.logBatch({ runId, metrics }),
        'INVALID_PARAMETER_VALUE',
        'at most 1000 metrics. Got 1001',
      );
      const params = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' }));
      await expectError(
        tracking.logBatch({ runId, params }),
        'INVALID_PARAMETER_VALUE',
        'at most 100 params. Got 101',
      );
      await expectError(
        tracking.logBatch({
          runId,
          tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: 'v' })),
        }),
        'INVALID_PARAMETER_VALUE',
        'at most 100 tags',
      );
      await expectError(
        tracking.logBatch({ runId, params: [{ key: 'long', value: 'x'.repeat(6001) }] }),
        'INVALID_PARAMETER_VALUE',
        'length 6001, which exceeded length limit of 6000',
      );
      await expectError(
        tracking.logBatch({
          runId,
          metrics: [{ key: 'good', value: 1, timestamp: 1, step: 0 }],
          params: [{ key: 'bad/../key', value: 'v' }],
        }),
        'INVALID_PARAMETER_VALUE',
        'Invalid param name',
      );
      await expectError(
        tracking.logBatch({ runId, tags: [{ key: 'k'.repeat(251), value: 'v' }] }),
        'INVALID_PARAMETER_VALUE',
        'exceeded length limit of 250',
      );
      const run = await tracking.getRun(runId);
      expect(run.data.metrics).toBeUndefined();
      expect(run.data.params).toBeUndefined();
      await expectError(
        tracking.getRun('0123456789abcdef0123456789abcdef'),
        'RESOURCE_DOES_NOT_EXIST',
        'not found',
      );
    });

    it('searches runs with the MLflow filter grammar, order and pages', async () => {
      const { tracking } = services;
      const experimentId = await tracking.createExperiment({ name: 'searching' });
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const run = await tracking.createRun({ experimentId, runName: `run-${i}`, startTime: 1000 + i });
        ids.push(run.info.run_id);
        await tracking.logBatch({
          runId: run.info.run_id,
          // Run 0 has no accuracy metric: it must sort last in both directions.
          metrics: i === 0 ? [] : [{ key: 'acc', value: i / 100, timestamp: 1, step: 0 }],
          params: [{ key: 'model', value: i % 2 === 0 ? 'GBT' : 'logreg' }],
          tags: [{ key: 'owner', value: i < 5 ? 'Alice' : 'bob' }],
        });
      }
      await tracking.updateRun({ runId: ids[3] as string, status: 'FINISHED' });
      const search = async (
        filter: string,
        extra: { orderBy?: string[]; maxResults?: number; pageToken?: string } = {},
      ) => tracking.searchRuns({ experimentIds: [experimentId], filter, ...extra });

      expect((await search('metrics.acc > 0.2')).items).toHaveLength(4);
      expect((await search("metrics.acc >= 0.2 and params.model = 'GBT'")).items).toHaveLength(3);
      expect((await search("tags.owner = 'Alice'")).items).toHaveLength(5);
      expect((await search("tags.owner LIKE 'a%'")).items).toHaveLength(0);
      expect((await search("tags.owner ILIKE 'a%'")).items).toHaveLength(5);
      expect((await search("attributes.status = 'FINISHED'")).items.map((r) => r.info.run_id)).toEqual([
        ids[3],
      ]);
      expect((await search("attributes.run_name = 'run-7'")).items).toHaveLength(1);
      expect((await search(`attributes.run_id IN ('${ids[1]}', '${ids[2]}')`)).items).toHaveLength(2);
      expect((await search('attributes.start_time < 1005')).items).toHaveLength(5);
      expect((await search('params.missing IS NULL')).items).toHaveLength(25);

      const byAcc = await search('', { orderBy: ['metrics.acc DESC'] });
      expect(byAcc.items[0]?.info.run_name).toBe('run-24');
      expect(byAcc.items.at(-1)?.info.run_name).toBe('run-0');
      const byAccAsc = await search('', { orderBy: ['metrics.acc ASC'] });
      expect(byAccAsc.items[0]?.info.run_name).toBe('run-1');
      expect(byAccAsc.items.at(-1)?.info.run_name).toBe('run-0');

      // Default order: newest start time first. Pages never repeat or skip a run.
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await search('', { maxResults: 10, ...(token !== undefined && { pageToken: token }) });
        seen.push(...page.items.map((r) => r.info.run_id));
        token = page.nextPageToken;
      } while (token !== undefined);
      expect(seen).toEqual([...ids].reverse());

      await expectError(search('metrics.acc >> 1'), 'INVALID_PARAMETER_VALUE', /position/);
      await expectError(
        tracking.searchRuns({ experimentIds: [experimentId], maxResults: 50001 }),
        'INVALID_PARAMETER_VALUE',
        '50000',
      );

      await tracking.setRunLifecycle(ids[5] as string, 'deleted');
      expect((await search('')).items).toHaveLength(24);
      expect(
        (await tracking.searchRuns({ experimentIds: [experimentId], viewType: 'DELETED_ONLY' })).items,
      ).toHaveLength(1);
      await tracking.setRunLifecycle(ids[5] as string, 'active');
    });

    it('logs dataset inputs once per digest and finds runs by dataset', async () => {
      const { tracking } = services;
      const experimentId = await tracking.createExperiment({ name: 'datasets' });
      const runId = (await tracking.createRun({ experimentId })).info.run_id;
      const input = {
        dataset: {
          name: 'flights-jan',
          digest: 'abc123',
          source_type: 'local',
          source: 'file:///data/jan.parquet',
        },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      };
      await tracking.logInputs(runId, [input]);
      await tracking.logInputs(runId, [input]);
      const run = await tracking.getRun(runId);
      expect(run.inputs.dataset_inputs).toEqual([input]);
      const found = await tracking.searchRuns({
        experimentIds: [experimentId],
        filter: "datasets.digest = 'abc123'",
      });
      expect(found.items.map((r) => r.info.run_id)).toEqual([runId]);
      const byContext = await tracking.searchRuns({
        experimentIds: [experimentId],
        filter: "datasets.context = 'training'",
      });
      expect(byContext.items).toHaveLength(1);
    });

    it('registers versions with signature and lineage, aliases, renames and deletes', async () => {
      const { tracking, registry, blobs } = services;
      const experimentId = await tracking.createExperiment({ name: 'registry' });
      const run = await tracking.createRun({
        experimentId,
        tags: [{ key: 'mlflow.source.git.commit', value: 'deadbeef' }],
      });
      const runId = run.info.run_id;
      await tracking.logBatch({ runId, metrics: [{ key: 'auc', value: 0.91, timestamp: 1, step: 0 }] });
      await tracking.logInputs(runId, [
        {
          dataset: { name: 'train', digest: 'd1', source_type: 'local', source: 'train.parquet' },
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
        },
      ]);
      const root = await tracking.artifactRootOf(runId);
      const onnx = await readFile(join(import.meta.dirname, '../fixtures/models/linear.onnx'));
      await blobs.put(`${root}/model/model.onnx`, onnx);

      await registry.createRegisteredModel({ name: 'fraud', description: 'fraud model' });
      await expectError(
        registry.createRegisteredModel({ name: 'fraud' }),
        'RESOURCE_ALREADY_EXISTS',
        'fraud',
      );
      const v1 = await registry.createModelVersion({ name: 'fraud', source: `runs:/${runId}/model`, runId });
      const v2 = await registry.createModelVersion({
        name: 'fraud',
        source: `mlflow-artifacts:/${root}/model/model.onnx`,
        runId,
      });
      expect([v1.version, v2.version]).toEqual(['1', '2']);
      expect(v1.status).toBe('READY');

      const detail = await registry.getModelVersionDetail('fraud', '1');
      expect(detail.flavor).toBe('onnx');
      expect(detail.signature?.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP32' });
      expect(detail.lineage).toMatchObject({
        run_id: runId,
        git_commit: 'deadbeef',
        datasets: [{ name: 'train', digest: 'd1', context: 'training' }],
      });
      expect(detail.card.metrics).toEqual({ auc: 0.91 });
      expect(detail.card.markdown).toContain('deadbeef');
      expect(detail.content_digest).toMatch(/^[0-9a-f]{64}$/);

      await registry.setAlias('fraud', 'champion', '1');
      await registry.setAlias('fraud', 'challenger', '2');
      expect((await registry.getVersionByAlias('fraud', 'champion')).version).toBe('1');
      expect((await registry.getModelVersion('fraud', '1')).aliases).toEqual(['champion']);
      await expectError(registry.setAlias('fraud', 'champion', '9'), 'RESOURCE_DOES_NOT_EXIST');
      await expectError(registry.setAlias('fraud', 'latest', '1'), 'INVALID_PARAMETER_VALUE', 'reserved');
      await expectError(registry.getVersionByAlias('fraud', 'nope'), 'RESOURCE_DOES_NOT_EXIST', 'alias nope');

      const staged = await registry.transitionStage('fraud', '1', 'production', true);
      expect(staged.current_stage).toBe('Production');
      await registry.transitionStage('fraud', '2', 'Production', true);
      expect((await registry.getModelVersion('fraud', '1')).current_stage).toBe('Archived');
      await expectError(
        registry.transitionStage('fraud', '2', 'Live', false),
        'INVALID_PARAMETER_VALUE',
        'stage',
      );

      const renamed = await registry.renameRegisteredModel('fraud', 'fraud-v2');
      expect(renamed.aliases).toEqual([
        { alias: 'challenger', version: '2' },
        { alias: 'champion', version: '1' },
      ]);
      expect((await registry.getVersionByAlias('fraud-v2', 'champion')).name).toBe('fraud-v2');
      await expectError(registry.getRegisteredModel('fraud'), 'RESOURCE_DOES_NOT_EXIST');

      const byRun = await registry.searchModelVersions({ filter: `run_id = '${runId}'` });
      expect(byRun.items).toHaveLength(2);
      const models = await registry.searchRegisteredModels({ filter: "name LIKE 'fraud%'" });
      expect(models.items.map((m) => m.name)).toEqual(['fraud-v2']);

      await registry.deleteModelVersion('fraud-v2', '1');
      await expectError(registry.getVersionByAlias('fraud-v2', 'champion'), 'RESOURCE_DOES_NOT_EXIST');
      expect((await registry.resolveVersion('fraud-v2')).version).toBe('2');
      expect((await registry.resolveVersion('fraud-v2@challenger')).version).toBe('2');
      await registry.deleteRegisteredModel('fraud-v2');
      await expectError(registry.getModelVersion('fraud-v2', '2'), 'RESOURCE_DOES_NOT_EXIST');
    });

    it('refuses a corrupt ONNX file at registration and writes no version', async () => {
      const { tracking, registry, blobs } = services;
      const experimentId = await tracking.createExperiment({ name: 'corrupt' });
      const runId = (await tracking.createRun({ experimentId })).info.run_id;
      const root = await tracking.artifactRootOf(runId);
      await blobs.put(`${root}/bad/model.onnx`, Buffer.from('this is not a model'));
      await registry.createRegisteredModel({ name: 'broken' });
      await expectError(
        registry.createModelVersion({ name: 'broken', source: `runs:/${runId}/bad`, runId }),
        'INVALID_PARAMETER_VALUE',
        'not a valid ONNX model',
      );
      expect((await registry.searchModelVersions({ filter: "name = 'broken'" })).items).toHaveLength(0);
    });
  });
}
