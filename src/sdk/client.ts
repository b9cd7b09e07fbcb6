import type { EndpointView } from '../deployments/index.js';
import type {
  DefinitionChange,
  Definitions,
  EndpointBinding,
  MaterializeResult,
  OnlineFeaturesResponse,
} from '../features/index.js';
import type { DatasetComparison, LabelOutcome, MonitorResult } from '../monitoring/index.js';
import type { PipelineRunView, PipelineView } from '../pipelines/index.js';
import type { ModelVersion, ModelVersionDetail, RegisteredModel } from '../registry/index.js';
import type { Experiment, KeyValue, Metric, Run, RunStatus, ViewType } from '../tracking/index.js';

/** An error answered by the server, with MLflow's error code. */
export class SlipwayApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'SlipwayApiError';
  }
}

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:5000` */
  baseUrl: string;
  token?: string;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface SearchRunsOptions {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}

/**
 * Typed client for Slipway's tracking and registry APIs (the MLflow REST API), usable from Node or a browser.
 * Every method throws SlipwayApiError with the server's code and message on a 4xx/5xx answer.
 */
export function createClient(options: ClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function call<T>(method: string, path: string, body?: object, query?: Query): Promise<T> {
    const url = new URL(`${base}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(url, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? {} : safeJson(text);
    if (!response.ok) {
      const error = parsed as { error_code?: string; message?: string; error?: string };
      throw new SlipwayApiError(
        response.status,
        error.error_code ?? 'UNKNOWN',
        error.message ?? error.error ?? `${method} ${path} answered ${response.status}`,
      );
    }
    return parsed as T;
  }

  /** A GET (or a POST with `body`) answered with text, e.g. an HTML report. */
  async function callText(path: string, query?: Query, body?: object): Promise<string> {
    const url = new URL(`${base}${path}`);
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.append(key, String(value));
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      const error = safeJson(text) as { error_code?: string; message?: string };
      throw new SlipwayApiError(response.status, error.error_code ?? 'UNKNOWN', error.message ?? text);
    }
    return text;
  }

  const mlflow = (path: string) => `/api/2.0/mlflow${path}`;

  return {
    health: () => call<{ status: string; version: string; database: string }>('GET', '/health'),

    createExperiment: async (name: string, tags?: KeyValue[], artifactLocation?: string): Promise<string> =>
      (
        await call<{ experiment_id: string }>('POST', mlflow('/experiments/create'), {
          name,
          ...(tags !== undefined && { tags }),
          ...(artifactLocation !== undefined && { artifact_location: artifactLocation }),
        })
      ).experiment_id,
    getExperiment: async (id: string) =>
      (
        await call<{ experiment: Experiment }>('GET', mlflow('/experiments/get'), undefined, {
          experiment_id: id,
        })
      ).experiment,
    getExperimentByName: async (name: string) =>
      (
        await call<{ experiment: Experiment }>('GET', mlflow('/experiments/get-by-name'), undefined, {
          experiment_name: name,
        })
      ).experiment,
    searchExperiments: (
      input: {
        filter?: string;
        maxResults?: number;
        orderBy?: string[];
        viewType?: ViewType;
        pageToken?: string;
      } = {},
    ) =>
      call<{ experiments?: Experiment[]; next_page_token?: string }>('POST', mlflow('/experiments/search'), {
        ...(input.filter !== undefined && { filter: input.filter }),
        ...(input.maxResults !== undefined && { max_results: input.maxResults }),
        ...(input.orderBy !== undefined && { order_by: input.orderBy }),
        ...(input.viewType !== undefined && { view_type: input.viewType }),
        ...(input.pageToken !== undefined && { page_token: input.pageToken }),
      }),
    renameExperiment: (id: string, newName: string) =>
      call<object>('POST', mlflow('/experiments/update'), { experiment_id: id, new_name: newName }),
    deleteExperiment: (id: string) =>
      call<object>('POST', mlflow('/experiments/delete'), { experiment_id: id }),
    restoreExperiment: (id: string) =>
      call<object>('POST', mlflow('/experiments/restore'), { experiment_id: id }),

    createRun: async (input: {
      experimentId: string;
      runName?: string;
      tags?: KeyValue[];
      startTime?: number;
      userId?: string;
    }) =>
      (
        await call<{ run: Run }>('POST', mlflow('/runs/create'), {
          experiment_id: input.experimentId,
          ...(input.runName !== undefined && { run_name: input.runName }),
          ...(input.tags !== undefined && { tags: input.tags }),
          start_time: input.startTime ?? Date.now(),
          ...(input.userId !== undefined && { user_id: input.userId }),
        })
      ).run,
    getRun: async (runId: string) =>
      (await call<{ run: Run }>('GET', mlflow('/runs/get'), undefined, { run_id: runId })).run,
    updateRun: (runId: string, input: { status?: RunStatus; endTime?: number; runName?: string }) =>
      call<{ run_info: Run['info'] }>('POST', mlflow('/runs/update'), {
        run_id: runId,
        ...(input.status !== undefined && { status: input.status }),
        ...(input.endTime !== undefined && { end_time: input.endTime }),
        ...(input.runName !== undefined && { run_name: input.runName }),
      }),
    deleteRun: (runId: string) => call<object>('POST', mlflow('/runs/delete'), { run_id: runId }),
    restoreRun: (runId: string) => call<object>('POST', mlflow('/runs/restore'), { run_id: runId }),
    logMetric: (
      runId: string,
      key: string,
      value: number,
      options: { step?: number; timestamp?: number } = {},
    ) =>
      call<object>('POST', mlflow('/runs/log-metric'), {
        run_id: runId,
        key,
        value: Number.isFinite(value) ? value : String(value),
        timestamp: options.timestamp ?? Date.now(),
        step: options.step ?? 0,
      }),
    logParam: (runId: string, key: string, value: string) =>
      call<object>('POST', mlflow('/runs/log-parameter'), { run_id: runId, key, value }),
    setTag: (runId: string, key: string, value: string) =>
      call<object>('POST', mlflow('/runs/set-tag'), { run_id: runId, key, value }),
    deleteTag: (runId: string, key: string) =>
      call<object>('POST', mlflow('/runs/delete-tag'), { run_id: runId, key }),
    logBatch: (runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }) =>
      call<object>('POST', mlflow('/runs/log-batch'), { run_id: runId, ...batch }),
    logInputs: (
      runId: string,
      datasets: {
        dataset: {
          name: string;
          digest: string;
          source_type: string;
          source: string;
          schema?: string;
          profile?: string;
        };
        tags?: KeyValue[];
      }[],
    ) => call<object>('POST', mlflow('/runs/log-inputs'), { run_id: runId, datasets }),
    searchRuns: (input: SearchRunsOptions) =>
      call<{ runs?: Run[]; next_page_token?: string }>('POST', mlflow('/runs/search'), {
        experiment_ids: input.experimentIds,
        ...(input.filter !== undefined && { filter: input.filter }),
        ...(input.orderBy !== undefined && { order_by: input.orderBy }),
        ...(input.maxResults !== undefined && { max_results: input.maxResults }),
        ...(input.pageToken !== undefined && { page_token: input.pageToken }),
        ...(input.viewType !== undefined && { run_view_type: input.viewType }),
      }),
    getMetricHistory: async (runId: string, key: string) =>
      (
        await call<{ metrics?: Metric[] }>('GET', mlflow('/metrics/get-history'), undefined, {
          run_id: runId,
          metric_key: key,
        })
      ).metrics ?? [],

    /** Uploads bytes as a run artifact through the server's artifact proxy. */
    async logArtifact(runId: string, artifactPath: string, data: Uint8Array | string): Promise<void> {
      const run = await this.getRun(runId);
      const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\/+/, '');
      const path = `${root}/${artifactPath}`.split('/').map(encodeURIComponent).join('/');
      const response = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${path}`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/octet-stream',
          ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
        },
        body: typeof data === 'string' ? data : Buffer.from(data),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        const error = safeJson(await response.text()) as { error_code?: string; message?: string };
        throw new SlipwayApiError(
          response.status,
          error.error_code ?? 'UNKNOWN',
          error.message ?? 'upload failed',
        );
      }
    },
    listArtifacts: (runId: string, path?: string) =>
      call<{ root_uri: string; files?: { path: string; is_dir: boolean; file_size?: number }[] }>(
        'GET',
        mlflow('/artifacts/list'),
        undefined,
        { run_id: runId, path },
      ),

    createRegisteredModel: async (name: string, description?: string) =>
      (
        await call<{ registered_model: RegisteredModel }>('POST', mlflow('/registered-models/create'), {
          name,
          ...(description !== undefined && { description }),
        })
      ).registered_model,
    getRegisteredModel: async (name: string) =>
      (
        await call<{ registered_model: RegisteredModel }>(
          'GET',
          mlflow('/registered-models/get'),
          undefined,
          { name },
        )
      ).registered_model,
    searchRegisteredModels: (input: { filter?: string; maxResults?: number; pageToken?: string } = {}) =>
      call<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
        'GET',
        mlflow('/registered-models/search'),
        undefined,
        {
          filter: input.filter,
          max_results: input.maxResults,
          page_token: input.pageToken,
        },
      ),
    renameRegisteredModel: (name: string, newName: string) =>
      call<{ registered_model: RegisteredModel }>('POST', mlflow('/registered-models/rename'), {
        name,
        new_name: newName,
      }),
    deleteRegisteredModel: (name: string) =>
      call<object>('DELETE', mlflow('/registered-models/delete'), { name }),
    createModelVersion: async (input: {
      name: string;
      source: string;
      runId?: string;
      description?: string;
      tags?: KeyValue[];
    }) =>
      (
        await call<{ model_version: ModelVersion }>('POST', mlflow('/model-versions/create'), {
          name: input.name,
          source: input.source,
          ...(input.runId !== undefined && { run_id: input.runId }),
          ...(input.description !== undefined && { description: input.description }),
          ...(input.tags !== undefined && { tags: input.tags }),
        })
      ).model_version,
    getModelVersion: async (name: string, version: string) =>
      (
        await call<{ model_version: ModelVersion }>('GET', mlflow('/model-versions/get'), undefined, {
          name,
          version,
        })
      ).model_version,
    searchModelVersions: (input: { filter?: string; maxResults?: number; pageToken?: string } = {}) =>
      call<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
        'GET',
        mlflow('/model-versions/search'),
        undefined,
        {
          filter: input.filter,
          max_results: input.maxResults,
          page_token: input.pageToken,
        },
      ),
    deleteModelVersion: (name: string, version: string) =>
      call<object>('DELETE', mlflow('/model-versions/delete'), { name, version }),
    setAlias: (name: string, alias: string, version: string) =>
      call<object>('POST', mlflow('/registered-models/alias'), { name, alias, version }),
    deleteAlias: (name: string, alias: string) =>
      call<object>('DELETE', mlflow('/registered-models/alias'), { name, alias }),
    getModelVersionByAlias: async (name: string, alias: string) =>
      (
        await call<{ model_version: ModelVersion }>('GET', mlflow('/registered-models/alias'), undefined, {
          name,
          alias,
        })
      ).model_version,
    getModelVersionDetail: (name: string, version: string) =>
      call<ModelVersionDetail>(
        'GET',
        `/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`,
      ),
    resolveModel: (ref: string) =>
      call<ModelVersionDetail>('GET', '/api/v1/models/resolve', undefined, { ref }),
    listEndpoints: async () =>
      (await call<{ endpoints: EndpointView[] }>('GET', '/api/v1/endpoints')).endpoints,
    getEndpoint: (name: string) => call<EndpointView>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}`),
    endpointHistory: async (name: string) =>
      (
        await call<{
          events: {
            id: number;
            at: number;
            actor: string;
            kind: string;
            reason: string;
            from?: unknown;
            to?: unknown;
          }[];
        }>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}/history`)
      ).events,
    shadowReport: (name: string) =>
      call<Record<string, unknown>>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}/shadow`),
    deploy: (
      endpoint: string,
      input: {
        model: string;
        policy?: string;
        steps?: number[];
        intervalMs?: number;
        weight?: number;
        approval?: boolean;
        reason?: string;
        webhookUrl?: string;
      },
    ) =>
      call<EndpointView>('POST', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/deploy`, {
        model: input.model,
        ...(input.policy !== undefined && { policy: input.policy }),
        ...(input.steps !== undefined && { steps: input.steps }),
        ...(input.intervalMs !== undefined && { interval_ms: input.intervalMs }),
        ...(input.weight !== undefined && { weight: input.weight }),
        ...(input.approval !== undefined && { approval: input.approval }),
        ...(input.reason !== undefined && { reason: input.reason }),
        ...(input.webhookUrl !== undefined && { webhook_url: input.webhookUrl }),
      }),
    rollback: (endpoint: string) =>
      call<EndpointView>('POST', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/rollback`, {}),
    rollout: (endpoint: string, action: 'promote' | 'pause' | 'resume' | 'abort') =>
      call<EndpointView>('POST', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/rollout/${action}`, {}),

    // Pipelines: /api/v1/pipelines and /api/v1/pipeline-runs.
    /** Applies a spec (YAML text); `workingDir` is the spec's folder as the server sees it. */
    applyPipeline: (spec: string, workingDir: string, source?: string) =>
      call<{ pipeline: PipelineView; changed: boolean }>('POST', '/api/v1/pipelines', {
        spec,
        working_dir: workingDir,
        ...(source !== undefined && { source }),
      }),
    listPipelines: async () =>
      (await call<{ pipelines: PipelineView[] }>('GET', '/api/v1/pipelines')).pipelines,
    getPipeline: (name: string) =>
      call<PipelineView & { spec: string }>('GET', `/api/v1/pipelines/${encodeURIComponent(name)}`),
    startPipelineRun: (name: string, params?: Record<string, string | number | boolean>) =>
      call<PipelineRunView>('POST', `/api/v1/pipelines/${encodeURIComponent(name)}/runs`, {
        ...(params !== undefined && { params }),
      }),
    listPipelineRuns: async (name: string, limit?: number) =>
      (
        await call<{ runs: PipelineRunView[] }>(
          'GET',
          `/api/v1/pipelines/${encodeURIComponent(name)}/runs`,
          undefined,
          { limit },
        )
      ).runs,
    getPipelineRun: (id: string) =>
      call<PipelineRunView>('GET', `/api/v1/pipeline-runs/${encodeURIComponent(id)}`),
    pipelineStepLogs: async (id: string, step: string) =>
      (
        await call<{ log: string }>(
          'GET',
          `/api/v1/pipeline-runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/logs`,
        )
      ).log,
    resumePipelineRun: (id: string) =>
      call<PipelineRunView>('POST', `/api/v1/pipeline-runs/${encodeURIComponent(id)}/resume`, {}),
    setModelCard: (name: string, version: string, markdown: string) =>
      call<ModelVersionDetail>(
        'PUT',
        `/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/card`,
        {
          markdown,
        },
      ),

    // Feature store: Feast's online API and Slipway's /api/v1/features.
    applyFeatures: (definitions: object, options: { force?: boolean; dryRun?: boolean } = {}) =>
      call<{ version: number; applied: boolean; changes: DefinitionChange[] }>(
        'POST',
        '/api/v1/features/apply',
        {
          definitions,
          ...(options.force !== undefined && { force: options.force }),
          ...(options.dryRun !== undefined && { dry_run: options.dryRun }),
        },
      ),
    featureRegistry: () =>
      call<{ version: number; definitions: Definitions }>('GET', '/api/v1/features/registry'),
    listFeatures: () =>
      call<{ version: number; objects: { kind: string; name: string; detail: string }[] }>(
        'GET',
        '/api/v1/features',
      ),
    /** Feast's get-online-features: `features` ('view:field') or `featureService`, column-major entities. */
    getOnlineFeatures: (input: {
      features?: string[];
      featureService?: string;
      entities: Record<string, unknown[]>;
      fullFeatureNames?: boolean;
    }) =>
      call<OnlineFeaturesResponse>('POST', '/get-online-features', {
        ...(input.features !== undefined && { features: input.features }),
        ...(input.featureService !== undefined && { feature_service: input.featureService }),
        entities: input.entities,
        ...(input.fullFeatureNames !== undefined && { full_feature_names: input.fullFeatureNames }),
      }),
    pushFeatures: (view: string, df: Record<string, unknown[]>) =>
      call<{ rows: number; written: number }>('POST', '/push', { push_source_name: view, df }),
    materializeFeatures: (input: { start: string | number; end: string | number; views?: string[] }) =>
      call<{ results: MaterializeResult[] }>('POST', '/api/v1/features/materialize', input),
    materializeFeaturesIncremental: (input: { end?: string | number; views?: string[] } = {}) =>
      call<{ results: MaterializeResult[] }>('POST', '/api/v1/features/materialize-incremental', input),
    /** A point-in-time training set computed by the server (inline rows, or Parquet at `output_path`). */
    historicalFeatures: (input: {
      features?: string[];
      feature_service?: string;
      entity_rows?: Record<string, unknown>[];
      entity_path?: string;
      entity_sql?: string;
      timestamp_column?: string;
      full_feature_names?: boolean;
      output_path?: string;
      run_id?: string;
      dataset_name?: string;
    }) =>
      call<{
        row_count: number;
        columns: { name: string; type: string }[];
        rows?: Record<string, unknown>[];
        output_path?: string;
        digest?: string;
      }>('POST', '/api/v1/features/historical', input),
    bindEndpointFeatures: (endpoint: string, featureService: string, entityInputs?: Record<string, string>) =>
      call<EndpointBinding>('PUT', `/api/v1/features/endpoint-bindings/${encodeURIComponent(endpoint)}`, {
        feature_service: featureService,
        ...(entityInputs !== undefined && { entity_inputs: entityInputs }),
      }),
    unbindEndpointFeatures: (endpoint: string) =>
      call<object>('DELETE', `/api/v1/features/endpoint-bindings/${encodeURIComponent(endpoint)}`),
    listFeatureBindings: async () =>
      (await call<{ bindings: EndpointBinding[] }>('GET', '/api/v1/features/endpoint-bindings')).bindings,
    // Monitoring
    configureMonitor: (endpoint: string, settings: Record<string, unknown>) =>
      call<Record<string, unknown>>(
        'PUT',
        `/api/v1/endpoints/${encodeURIComponent(endpoint)}/monitor`,
        settings,
      ),
    getMonitor: (endpoint: string) =>
      call<MonitorStatus>('GET', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/monitor`),
    listMonitors: async () => (await call<{ monitors: MonitorStatus[] }>('GET', '/api/v1/monitors')).monitors,
    runMonitor: (endpoint: string, window?: { from: number | string; to: number | string }) =>
      call<MonitorResult>(
        'POST',
        `/api/v1/endpoints/${encodeURIComponent(endpoint)}/monitor/run`,
        window ?? {},
      ),
    monitorReport: (endpoint: string, range: { from?: string; to?: string } = {}) =>
      call<MonitorResult>(
        'GET',
        `/api/v1/endpoints/${encodeURIComponent(endpoint)}/monitor/report`,
        undefined,
        {
          from: range.from,
          to: range.to,
        },
      ),
    monitorReportHtml: (endpoint: string, range: { from?: string; to?: string } = {}) =>
      callText(`/api/v1/endpoints/${encodeURIComponent(endpoint)}/monitor/report`, {
        from: range.from,
        to: range.to,
        format: 'html',
      }),
    sendLabels: (endpoint: string, labels: { request_id: string; row?: number; label: number }[]) =>
      call<LabelOutcome>('POST', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/labels`, { labels }),
    setAlertRule: (
      endpoint: string,
      name: string,
      rule: {
        expression: string;
        webhook_url?: string;
        webhook_format?: 'json' | 'slack';
        pipeline?: string;
      },
    ) =>
      call<AlertRuleView>(
        'PUT',
        `/api/v1/endpoints/${encodeURIComponent(endpoint)}/alert-rules/${encodeURIComponent(name)}`,
        rule,
      ),
    listAlertRules: async (endpoint: string) =>
      (
        await call<{ rules: AlertRuleView[] }>(
          'GET',
          `/api/v1/endpoints/${encodeURIComponent(endpoint)}/alert-rules`,
        )
      ).rules,
    deleteAlertRule: (endpoint: string, name: string) =>
      call<object>(
        'DELETE',
        `/api/v1/endpoints/${encodeURIComponent(endpoint)}/alert-rules/${encodeURIComponent(name)}`,
      ),
    alertEvents: async (endpoint: string) =>
      (
        await call<{ events: Record<string, unknown>[] }>(
          'GET',
          `/api/v1/endpoints/${encodeURIComponent(endpoint)}/alert-events`,
        )
      ).events,
    setReference: (model: string, version: string, source: { path: string } | { sql: string }) =>
      call<{ rows: number; columns: string[] }>(
        'PUT',
        `/api/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/reference`,
        source,
      ),
    getReference: (model: string, version: string) =>
      call<{ model: string; version: string; source: string; rows: number }>(
        'GET',
        `/api/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/reference`,
      ),
    compareDatasets: (input: {
      reference: { path: string } | { sql: string };
      current: { path: string } | { sql: string };
      columns?: string[];
    }) => call<DatasetComparison>('POST', '/api/v1/monitoring/compare', input),
    compareDatasetsHtml: async (input: {
      reference: { path: string } | { sql: string };
      current: { path: string } | { sql: string };
      columns?: string[];
    }) => callText('/api/v1/monitoring/compare', undefined, { ...input, format: 'html' }),
  };
}

export type SlipwayClient = ReturnType<typeof createClient>;

/** An alert rule and its state, as the API answers. */
export interface AlertRuleView {
  name: string;
  endpoint: string;
  expression: string;
  webhook_url?: string;
  webhook_format: string;
  pipeline?: string;
  state: string;
  state_since: number;
  last_value?: number;
}

/** A monitor's settings, label counts, rules and latest result. */
export interface MonitorStatus {
  endpoint: string;
  config: Record<string, unknown>;
  task: string;
  last_run_at: number | null;
  labels: { accepted: number; unknown: number; duplicate: number; conflicting: number };
  latest?: MonitorResult;
  rules: AlertRuleView[];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}
