import type { Clock } from '../core/clock.js';
import { alreadyExists, invalidParameter, notFound, SlipwayError } from '../core/errors.js';
import { newHexId } from '../core/ids.js';
import { decodePageToken, encodePageToken } from '../core/page-token.js';
import type { MetadataDb, RunTable } from '../storage/index.js';
import {
  DATASET_CONTEXT_TAG,
  type DatasetInput,
  type Experiment,
  type KeyValue,
  type Metric,
  type MetricInput,
  RUN_NAME_TAG,
  type Run,
  type RunStatus,
  toJsonDouble,
  type ViewType,
} from './model.js';
import { generateRunName } from './run-name.js';
import {
  experimentSearchGrammar,
  parseOrderBy,
  parseSearchFilter,
  runSearchGrammar,
} from './search-filter.js';
import { createTrackingStore, type Db, type ExperimentRow, fromStoredMetric, type RunData } from './store.js';
import {
  limits,
  validateBatchLimits,
  validateExperimentName,
  validateLength,
  validateMaxResults,
  validateMetric,
  validateParam,
  validateTag,
} from './validation.js';

export interface TrackingDeps {
  metadata: MetadataDb;
  clock: Clock;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/**
 * Experiment tracking with MLflow's semantics: same validation, same lifecycle rules (deleted runs and
 * experiments refuse writes), same "latest metric" rule. Every multi-row write is one transaction, so a
 * rejected batch writes nothing.
 */
export function createTrackingService({ metadata, clock }: TrackingDeps) {
  const store = createTrackingStore(metadata);
  const db = store.db;

  const parseExperimentId = (id: string | number): number => {
    const n = typeof id === 'number' ? id : Number(id);
    if (!Number.isInteger(n) || n < 0 || String(id).trim() === '') {
      throw invalidParameter(`Invalid value '${id}' for parameter 'experiment_id': expected an integer id`);
    }
    return n;
  };

  const requireExperiment = async (trx: Db, id: string | number): Promise<ExperimentRow> => {
    const row = await store.getExperiment(trx, parseExperimentId(id));
    if (row === undefined) throw notFound(`No Experiment with id=${id} exists`);
    return row;
  };

  const requireRun = async (trx: Db, runId: string): Promise<RunTable> => {
    const row = await store.getRun(trx, runId);
    if (row === undefined) throw notFound(`Run with id=${runId} not found`);
    return row;
  };

  const requireActiveRun = async (trx: Db, runId: string): Promise<RunTable> => {
    const run = await requireRun(trx, runId);
    if (run.lifecycle_stage !== 'active') {
      throw invalidParameter(
        `The run ${runId} must be in the 'active' state. Current state is ${run.lifecycle_stage}.`,
      );
    }
    return run;
  };

  const toExperiment = (row: ExperimentRow, tags: KeyValue[] | undefined): Experiment => {
    const experiment: Experiment = {
      experiment_id: String(row.experiment_id),
      name: row.name,
      artifact_location: row.artifact_location,
      lifecycle_stage: row.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
      last_update_time: row.last_update_time,
      creation_time: row.creation_time,
    };
    if (tags !== undefined && tags.length > 0) experiment.tags = tags;
    return experiment;
  };

  const toRun = (row: RunTable, data: RunData): Run => {
    const metrics: Metric[] = (data.metrics.get(row.run_id) ?? []).map((m) => ({
      key: m.key,
      value: toJsonDouble(fromStoredMetric(m.value, m.is_nan)),
      timestamp: m.timestamp,
      step: m.step,
    }));
    const params = data.params.get(row.run_id) ?? [];
    const tags = data.tags.get(row.run_id) ?? [];
    const inputs = data.inputs.get(row.run_id) ?? [];
    const run: Run = {
      info: {
        run_id: row.run_id,
        run_uuid: row.run_id,
        run_name: row.run_name,
        experiment_id: String(row.experiment_id),
        user_id: row.user_id,
        status: row.status as RunStatus,
        start_time: row.start_time,
        artifact_uri: row.artifact_uri,
        lifecycle_stage: row.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
      },
      data: {},
      inputs: {},
    };
    if (row.end_time !== null) run.info.end_time = row.end_time;
    if (metrics.length > 0) run.data.metrics = metrics;
    if (params.length > 0) run.data.params = params;
    if (tags.length > 0) run.data.tags = tags;
    if (inputs.length > 0) run.inputs.dataset_inputs = inputs;
    return run;
  };

  const loadRun = async (trx: Db, row: RunTable): Promise<Run> =>
    toRun(row, await store.loadRunData(trx, [row.run_id]));

  /** Param values are immutable in MLflow: re-logging the same value is fine, a different one is refused. */
  const checkParamsUnchanged = async (trx: Db, runId: string, params: KeyValue[]): Promise<void> => {
    const seen = new Map<string, string>();
    for (const p of params) {
      const earlier = seen.get(p.key);
      if (earlier !== undefined && earlier !== p.value) {
        throw invalidParameter(
          `Duplicate parameter keys have been submitted: key '${p.key}' has values '${earlier}' and '${p.value}'. ` +
            'Please ensure the request contains only one param value per param key.',
        );
      }
      seen.set(p.key, p.value);
    }
    const existing = await store.paramsOf(trx, runId, [...seen.keys()]);
    for (const p of params) {
      const old = existing.get(p.key);
      if (old !== undefined && old !== p.value) {
        throw invalidParameter(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with ` +
            `value='${old}' for run ID='${runId}'. Attempted logging new value '${p.value}'.`,
        );
      }
    }
  };

  return {
    async createExperiment(input: {
      name: string;
      artifactLocation?: string;
      tags?: KeyValue[];
    }): Promise<string> {
      validateExperimentName(input.name);
      for (const tag of input.tags ?? []) {
        validateLength('Experiment tag key', tag.key, limits.experimentTagKeyLength);
        validateLength('Experiment tag value', tag.value, limits.experimentTagValueLength);
      }
      return store.transaction(async (trx) => {
        if ((await store.getExperimentByName(trx, input.name)) !== undefined) {
          throw alreadyExists(`Experiment(name=${input.name}) already exists.`);
        }
        const now = clock.nowMs();
        const id = await store.insertExperiment(
          trx,
          {
            name: input.name,
            artifact_location: input.artifactLocation ?? '',
            lifecycle_stage: 'active',
            creation_time: now,
            last_update_time: now,
          },
          input.tags ?? [],
        );
        if (input.artifactLocation === undefined || input.artifactLocation === '') {
          await store.updateExperiment(trx, id, { artifact_location: `mlflow-artifacts:/${id}` });
        }
        return String(id);
      });
    },

    async getExperiment(id: string): Promise<Experiment> {
      const row = await requireExperiment(db, id);
      return toExperiment(row, (await store.experimentTags(db, [row.experiment_id])).get(row.experiment_id));
    },

    async getExperimentByName(name: string): Promise<Experiment> {
      const row = await store.getExperimentByName(db, name);
      if (row === undefined) throw notFound(`Could not find experiment with name '${name}'`);
      return toExperiment(row, (await store.experimentTags(db, [row.experiment_id])).get(row.experiment_id));
    },

    async searchExperiments(input: {
      viewType?: ViewType;
      maxResults?: number;
      filter?: string;
      orderBy?: string[];
      pageToken?: string;
    }): Promise<Page<Experiment>> {
      const maxResults = input.maxResults ?? limits.searchMaxResultsDefault;
      validateMaxResults(maxResults);
      const filter = parseSearchFilter(input.filter, experimentSearchGrammar);
      const orderBy = parseOrderBy(input.orderBy, experimentSearchGrammar);
      const offset = decodePageToken(input.pageToken);
      const rows = await store.searchExperiments(db, {
        viewType: input.viewType ?? 'ACTIVE_ONLY',
        filter,
        orderBy,
        offset,
        limit: maxResults + 1,
      });
      const page = rows.slice(0, maxResults);
      const tags = await store.experimentTags(
        db,
        page.map((r) => r.experiment_id),
      );
      const result: Page<Experiment> = { items: page.map((r) => toExperiment(r, tags.get(r.experiment_id))) };
      if (rows.length > maxResults) result.nextPageToken = encodePageToken(offset + maxResults);
      return result;
    },

    async updateExperiment(id: string, newName: string): Promise<void> {
      validateExperimentName(newName);
      await store.transaction(async (trx) => {
        const row = await requireExperiment(trx, id);
        if (row.lifecycle_stage !== 'active') {
          throw invalidParameter(
            `Cannot rename a non-active experiment. Experiment ${id} is ${row.lifecycle_stage}.`,
          );
        }
        const clash = await store.getExperimentByName(trx, newName);
        if (clash !== undefined && clash.experiment_id !== row.experiment_id) {
          throw alreadyExists(`Experiment(name=${newName}) already exists.`);
        }
        await store.updateExperiment(trx, row.experiment_id, {
          name: newName,
          last_update_time: clock.nowMs(),
        });
      });
    },

    async setExperimentLifecycle(id: string, stage: 'active' | 'deleted'): Promise<void> {
      await store.transaction(async (trx) => {
        const row = await requireExperiment(trx, id);
        if (row.experiment_id === 0 && stage === 'deleted') {
          throw invalidParameter('Cannot delete the default experiment (id=0).');
        }
        const now = clock.nowMs();
        await store.updateExperiment(trx, row.experiment_id, {
          lifecycle_stage: stage,
          last_update_time: now,
        });
        await store.setRunsLifecycle(trx, row.experiment_id, stage, stage === 'deleted' ? now : null);
      });
    },

    async setExperimentTag(id: string, tag: KeyValue): Promise<void> {
      validateLength('Experiment tag key', tag.key, limits.experimentTagKeyLength);
      validateLength('Experiment tag value', tag.value, limits.experimentTagValueLength);
      await store.transaction(async (trx) => {
        const row = await requireExperiment(trx, id);
        if (row.lifecycle_stage !== 'active') {
          throw invalidParameter(
            `The experiment ${id} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`,
          );
        }
        await store.setExperimentTag(trx, row.experiment_id, tag);
      });
    },

    async deleteExperimentTag(id: string, key: string): Promise<void> {
      await store.transaction(async (trx) => {
        const row = await requireExperiment(trx, id);
        await store.deleteExperimentTag(trx, row.experiment_id, key);
      });
    },

    async createRun(input: {
      experimentId: string;
      userId?: string;
      runName?: string;
      startTime?: number;
      tags?: KeyValue[];
    }): Promise<Run> {
      const tags = [...(input.tags ?? [])];
      for (const tag of tags) validateTag(tag);
      const tagRunName = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
      if (input.runName !== undefined && tagRunName !== undefined && tagRunName !== input.runName) {
        throw invalidParameter(
          `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values ` +
            `(run_name='${input.runName}', mlflow.runName='${tagRunName}').`,
        );
      }
      const runName = input.runName || tagRunName || generateRunName();
      validateLength('Run name', runName, limits.runNameLength);
      if (tagRunName === undefined) tags.push({ key: RUN_NAME_TAG, value: runName });
      return store.transaction(async (trx) => {
        const experiment = await requireExperiment(trx, input.experimentId);
        if (experiment.lifecycle_stage !== 'active') {
          throw invalidParameter(
            `The experiment ${experiment.experiment_id} must be in the 'active' state. ` +
              `Current state is ${experiment.lifecycle_stage}.`,
          );
        }
        const runId = newHexId();
        const row: RunTable = {
          run_id: runId,
          experiment_id: experiment.experiment_id,
          run_name: runName,
          user_id: input.userId ?? '',
          status: 'RUNNING',
          start_time: input.startTime ?? clock.nowMs(),
          end_time: null,
          artifact_uri: `${experiment.artifact_location.replace(/\/+$/, '')}/${runId}/artifacts`,
          lifecycle_stage: 'active',
          deleted_time: null,
        };
        await store.insertRun(trx, row, tags);
        return loadRun(trx, row);
      });
    },

    async getRun(runId: string): Promise<Run> {
      return loadRun(db, await requireRun(db, runId));
    },

    async updateRun(input: {
      runId: string;
      status?: RunStatus;
      endTime?: number;
      runName?: string;
    }): Promise<Run> {
      return store.transaction(async (trx) => {
        const run = await requireActiveRun(trx, input.runId);
        const changes: Partial<RunTable> = {};
        if (input.status !== undefined) changes.status = input.status;
        if (input.endTime !== undefined) changes.end_time = input.endTime;
        if (input.runName !== undefined && input.runName !== '') {
          validateLength('Run name', input.runName, limits.runNameLength);
          changes.run_name = input.runName;
          await store.upsertTags(trx, run.run_id, [{ key: RUN_NAME_TAG, value: input.runName }]);
        }
        if (Object.keys(changes).length > 0) await store.updateRun(trx, run.run_id, changes);
        return loadRun(trx, { ...run, ...changes });
      });
    },

    async setRunLifecycle(runId: string, stage: 'active' | 'deleted'): Promise<void> {
      await store.transaction(async (trx) => {
        await requireRun(trx, runId);
        await store.updateRun(trx, runId, {
          lifecycle_stage: stage,
          deleted_time: stage === 'deleted' ? clock.nowMs() : null,
        });
      });
    },

    async logBatch(input: {
      runId: string;
      metrics?: MetricInput[];
      params?: KeyValue[];
      tags?: KeyValue[];
    }): Promise<void> {
      const metrics = input.metrics ?? [];
      const params = input.params ?? [];
      const tags = input.tags ?? [];
      validateBatchLimits({ metrics: metrics.length, params: params.length, tags: tags.length });
      for (const m of metrics) validateMetric(m);
      for (const p of params) validateParam(p);
      for (const t of tags) validateTag(t);
      await store.transaction(async (trx) => {
        await requireActiveRun(trx, input.runId);
        await checkParamsUnchanged(trx, input.runId, params);
        await store.insertParams(trx, input.runId, params);
        await store.upsertTags(trx, input.runId, tags);
        const runName = tags.find((t) => t.key === RUN_NAME_TAG);
        if (runName !== undefined) await store.updateRun(trx, input.runId, { run_name: runName.value });
        await store.insertMetrics(trx, input.runId, metrics);
      });
    },

    async deleteTag(runId: string, key: string): Promise<void> {
      await store.transaction(async (trx) => {
        await requireActiveRun(trx, runId);
        const result = await store.deleteTag(trx, runId, key);
        if (Number(result.numDeletedRows) === 0) {
          throw notFound(`No tag with name: ${key} in run with id ${runId}`);
        }
      });
    },

    async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
      if (datasets.length > limits.datasetsPerBatch) {
        throw invalidParameter(
          `A batch logging request can contain at most ${limits.datasetsPerBatch} datasets. Got ${datasets.length} datasets.`,
        );
      }
      for (const input of datasets) {
        const d = input.dataset;
        validateLength('Dataset name', d.name, limits.datasetNameLength);
        validateLength('Dataset digest', d.digest, limits.datasetDigestLength);
        validateLength('Dataset source', d.source, limits.datasetSourceLength);
        if (d.schema !== undefined) validateLength('Dataset schema', d.schema, limits.datasetSchemaLength);
        if (d.profile !== undefined)
          validateLength('Dataset profile', d.profile, limits.datasetProfileLength);
        for (const tag of input.tags ?? []) {
          validateLength('Input tag key', tag.key, limits.inputTagKeyLength);
          validateLength('Input tag value', tag.value, limits.inputTagValueLength);
        }
      }
      await store.transaction(async (trx) => {
        const run = await requireActiveRun(trx, runId);
        for (const input of datasets) {
          const datasetId = await store.upsertDataset(trx, run.experiment_id, newHexId(), input.dataset);
          const tags = input.tags ?? [];
          const context = tags.find((t) => t.key === DATASET_CONTEXT_TAG)?.value ?? null;
          await store.linkRunInput(trx, runId, datasetId, tags, context);
        }
      });
    },

    async getMetricHistory(input: {
      runId: string;
      metricKey: string;
      maxResults?: number;
      pageToken?: string;
    }): Promise<Page<Metric>> {
      await requireRun(db, input.runId);
      const maxResults = input.maxResults ?? limits.metricHistoryMaxResults;
      validateMaxResults(maxResults, limits.metricHistoryMaxResults);
      const offset = decodePageToken(input.pageToken);
      const rows = await store.metricHistory(db, input.runId, input.metricKey, offset, maxResults + 1);
      const items = rows.slice(0, maxResults).map((m) => ({
        key: m.key,
        value: toJsonDouble(fromStoredMetric(m.value, m.is_nan)),
        timestamp: m.timestamp,
        step: m.step,
      }));
      const page: Page<Metric> = { items };
      if (rows.length > maxResults) page.nextPageToken = encodePageToken(offset + maxResults);
      return page;
    },

    async searchRuns(input: {
      experimentIds: string[];
      filter?: string;
      viewType?: ViewType;
      maxResults?: number;
      orderBy?: string[];
      pageToken?: string;
    }): Promise<Page<Run>> {
      const maxResults = input.maxResults ?? limits.searchMaxResultsDefault;
      validateMaxResults(maxResults);
      const filter = parseSearchFilter(input.filter, runSearchGrammar);
      const orderBy = parseOrderBy(input.orderBy, runSearchGrammar);
      const offset = decodePageToken(input.pageToken);
      const rows = await store.searchRuns(db, {
        experimentIds: input.experimentIds.map(parseExperimentId),
        viewType: input.viewType ?? 'ACTIVE_ONLY',
        filter,
        orderBy,
        offset,
        limit: maxResults + 1,
      });
      const pageRows = rows.slice(0, maxResults);
      const data = await store.loadRunData(
        db,
        pageRows.map((r) => r.run_id),
      );
      const page: Page<Run> = { items: pageRows.map((r) => toRun(r, data)) };
      if (rows.length > maxResults) page.nextPageToken = encodePageToken(offset + maxResults);
      return page;
    },

    /** The run's artifact root as a path in the blob store, when the run uses proxied artifacts. */
    async artifactRootOf(runId: string): Promise<string> {
      const run = await requireRun(db, runId);
      const prefix = 'mlflow-artifacts:/';
      if (!run.artifact_uri.startsWith(prefix)) {
        throw new SlipwayError(
          'INVALID_PARAMETER_VALUE',
          `Run ${runId} stores artifacts at '${run.artifact_uri}', which this server does not proxy`,
        );
      }
      return run.artifact_uri.slice(prefix.length).replace(/^\/+/, '');
    },
  };
}

export type TrackingService = ReturnType<typeof createTrackingService>;
