import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { invalidParameter, notFound } from '../core/errors.js';
import { newHexId } from '../core/ids.js';
import type { DeploymentService } from '../deployments/index.js';
import type { ModelVersion, RegistryService } from '../registry/index.js';
import {
  decodeInvocation,
  type PayloadRecord,
  type PayloadSink,
  type ServingService,
} from '../serving/index.js';
import type { MetadataDb } from '../storage/index.js';
import { type AlertCondition, type AlertState, parseAlertCondition, stepAlert } from './alert-rule.js';
import {
  type Columns,
  type CompareOptions,
  compareProfiles,
  type DatasetComparison,
  type DatasetProfile,
  type DatasetSchema,
  mergeDatasetProfiles,
  PREDICTION_COLUMN,
  parseDatasetProfile,
  profileColumns,
  profileReference,
} from './dataset-profile.js';
import { type DatasetSource, readColumns } from './dataset-reader.js';
import { compactInferenceLog } from './inference-log.js';
import type { MonitoringMetrics } from './metrics.js';
import { profileColumn, profileQuantile } from './profile.js';
import { type PredictionSpec, predictionOf, recordColumns } from './records.js';
import { classificationMetrics, regressionMetrics } from './stats/performance.js';
import { createMonitoringStore } from './store.js';

/** Per column: the drift test and/or its threshold, overriding Evidently's defaults. */
export const driftTestsSchema = z.record(
  z.string(),
  z.strictObject({
    test: z.enum(['ks', 'wasserstein', 'psi', 'jensenshannon', 'chisquare']).optional(),
    threshold: z.number().optional(),
  }),
);

/** A monitor's settings (JSON in the API, YAML-able). */
export const monitorConfigSchema = z.strictObject({
  /** Length of the window each run compares with the reference. */
  window_ms: z.number().int().positive().default(3_600_000),
  /** How often the monitor runs. */
  interval_ms: z.number().int().min(1000).default(300_000),
  /** `sliding`: the last window_ms before each run; `tumbling`: the last whole window_ms-aligned window. */
  window_kind: z.enum(['sliding', 'tumbling']).default('sliding'),
  /** Compare with the version's reference profile or with the window before. */
  baseline: z.enum(['reference', 'previous_window']).default('reference'),
  /** Share of requests logged (and monitored), 0–1. */
  sample_rate: z.number().min(0).max(1).default(1),
  /** Dataset drift when at least this share of features drift. */
  drift_share: z.number().gt(0).max(1).default(0.5),
  /** Per column: drift test and threshold, overriding Evidently's defaults. */
  tests: driftTestsSchema.default({}),
  task: z.enum(['classification', 'regression']).optional(),
  /** Output holding the prediction and the column of it (P(class 1) of a binary classifier is column 1). */
  prediction_output: z.string().optional(),
  prediction_index: z.number().int().min(0).optional(),
  label_output: z.string().optional(),
  /** Decision threshold on the prediction for classification metrics. */
  threshold: z.number().min(0).max(1).default(0.5),
  /** Pin the reference to this version's profile; by default the endpoint's stable version's. */
  reference_version: z.string().optional(),
});
export type MonitorConfig = z.infer<typeof monitorConfigSchema>;

/** One monitor run: what the window looked like against its baseline. */
export interface MonitorResult {
  endpoint: string;
  model: string;
  reference_version: string;
  run_at: number;
  window: { start: number; end: number };
  /** Absent when the window has no traffic. */
  drift?: DatasetComparison;
  performance?: PerformanceReport;
  latency?: { p50_ms: number; p99_ms: number; requests: number };
  /** The metrics alert rules read, flat. */
  metrics: Record<string, number>;
  alerts: { rule: string; state: AlertState; value?: number }[];
}

export interface PerformanceReport {
  task: 'classification' | 'regression';
  labelled_rows: number;
  overall: Record<string, number>;
  by_version: Record<string, Record<string, number>>;
}

export interface LabelInput {
  request_id: string;
  /** Row of a multi-row request (default 0). */
  row?: number | undefined;
  label: number;
}

export interface LabelOutcome {
  accepted: number;
  duplicate: number;
  conflicting: number;
  unknown: number;
  /** The first unknown request ids (at most 100). */
  unknown_request_ids: string[];
}

/** Starts a named pipeline (retraining) with an alert as its input; provided by the pipelines domain. */
export type PipelineTrigger = (
  name: string,
  trigger: { reason: 'alert'; input: Record<string, unknown> },
) => Promise<{ run_id: string }>;

export interface MonitoringDeps {
  metadata: MetadataDb;
  registry: RegistryService;
  serving: ServingService;
  deployments: DeploymentService;
  clock: Clock;
  metrics: MonitoringMetrics;
  /** Identifies this process's window profiles among replicas. */
  replica?: string;
  /** Length of the buckets window profiles are written in (default 60 s). */
  bucketMs?: number;
  /** How often buffered window profiles are written (default 10 s). */
  flushIntervalMs?: number;
  /** How often the scheduler checks for due monitors (default 5 s). */
  tickMs?: number;
  triggerPipeline?: PipelineTrigger;
  /** Base URL of this server, for links in notifications. */
  publicUrl?: string;
  /** Writes the payload log's buffered records through to monitoring (before a run reads windows). */
  flushPayloads?: () => Promise<void>;
  /** This process's inference log: closed hours compacted to Parquet, files past retention deleted. */
  inferenceLog?: { dir: string; retentionMs: number; compactEveryMs?: number };
}

interface Bucket {
  endpoint: string;
  version: string;
  start: number;
  columns: Record<string, unknown[]>;
  latencies: number[];
  violations: number;
}

interface LoadedMonitor {
  config: MonitorConfig;
  prediction: PredictionSpec;
  task: 'classification' | 'regression';
}

const MAX_BUCKET_ROWS = 50_000;
/** References are profiled from at most this many rows (a reproducible reservoir sample beyond it). */
export const REFERENCE_MAX_ROWS = 200_000;

/**
 * Monitoring: reference profiles, per-bucket window profiles written by every serving process, predictions joined
 * with late labels, scheduled monitor runs (drift, data quality, performance, latency), alert rules with
 * notifications and pipeline triggers.
 */
export function createMonitoringService(deps: MonitoringDeps) {
  const store = createMonitoringStore(deps.metadata);
  const replica = deps.replica ?? `replica-${newHexId().slice(0, 12)}`;
  const bucketMs = deps.bucketMs ?? 60_000;
  const monitors = new Map<string, LoadedMonitor>();
  const buckets = new Map<string, Bucket>();
  let timers: NodeJS.Timeout[] = [];
  let configLoaded: Promise<void> | undefined;
  const running = new Set<Promise<unknown>>();

  const track = <T>(promise: Promise<T>): Promise<T> => {
    running.add(promise);
    void promise.finally(() => running.delete(promise)).catch(() => {});
    return promise;
  };

  const loadMonitors = async () => {
    monitors.clear();
    for (const row of await store.listMonitors()) {
      monitors.set(row.endpoint, await describeMonitor(row.endpoint, JSON.parse(row.config_json)));
    }
  };

  /** Resolves defaults that depend on the endpoint's model: which output is the prediction, and the task. */
  const describeMonitor = async (endpoint: string, raw: unknown): Promise<LoadedMonitor> => {
    const config = monitorConfigSchema.parse(raw);
    let outputs: string[] = [];
    try {
      const view = await deps.deployments.get(endpoint);
      const detail = await deps.registry.getModelVersionDetail(view.model, view.stable_version);
      outputs = detail.signature?.outputs.map((o) => o.name) ?? [];
    } catch {
      // An endpoint deleted after its monitor: the monitor keeps its settings and reports no data.
    }
    return { config, ...predictionSpecOf(outputs, config) };
  };

  const referenceCache = new Map<
    string,
    { schema: DatasetSchema; profile: DatasetProfile; source: string }
  >();
  const referenceFor = async (model: string, version: string) => {
    const key = `${model}\u0000${version}`;
    const cached = referenceCache.get(key);
    if (cached !== undefined) return cached;
    const row = await store.latestReference(model, version);
    if (row === undefined) return undefined;
    const loaded = {
      schema: JSON.parse(row.schema_json) as DatasetSchema,
      profile: parseDatasetProfile(row.profile_json),
      source: row.source,
    };
    referenceCache.set(key, loaded);
    return loaded;
  };

  /** Adds served requests to this process's open buckets and stores predictions for the label join. */
  const ingest = async (records: readonly PayloadRecord[]): Promise<void> => {
    await configLoaded;
    const predictions: Parameters<typeof store.insertPredictions>[0] = [];
    for (const record of records) {
      if (record.endpoint === undefined) continue;
      const monitor = monitors.get(record.endpoint);
      if (monitor === undefined) continue;
      const predicted = predictionOf(record, monitor.prediction);
      if (predicted !== undefined && record.shadow !== true) {
        predicted.values.forEach((value, row) => {
          predictions.push({
            endpoint: record.endpoint as string,
            request_id: record.requestId,
            row_index: row,
            version: record.version,
            timestamp_ms: record.timestampMs,
            prediction: Number.isFinite(value) ? value : null,
            predicted_label: predicted.labels?.[row] ?? null,
            label: null,
            labelled_at: null,
          });
        });
      }
      if (record.shadow === true) continue;
      const reference = await referenceFor(
        (await endpointModel(record.endpoint)) ?? record.model,
        await referenceVersionOf(record.endpoint, monitor, record.version),
      );
      const expected = new Set(Object.keys(reference?.schema ?? {}));
      const start = Math.floor(record.timestampMs / bucketMs) * bucketMs;
      const key = `${record.endpoint}\u0000${record.version}\u0000${start}`;
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        bucket = {
          endpoint: record.endpoint,
          version: record.version,
          start,
          columns: {},
          latencies: [],
          violations: 0,
        };
        buckets.set(key, bucket);
      }
      const { columns, violation } = recordColumns(record, expected, monitor.prediction);
      const before = rowsOf(bucket);
      for (const [name, values] of Object.entries(columns)) {
        let target = bucket.columns[name];
        if (target === undefined) {
          target = new Array(before).fill(null);
          bucket.columns[name] = target;
        }
        for (const v of values) target.push(v);
      }
      const after = before + Math.max(record.rows, 1);
      for (const values of Object.values(bucket.columns)) while (values.length < after) values.push(null);
      bucket.latencies.push(record.latencyMs);
      if (violation && expected.size > 0) bucket.violations++;
      if (after >= MAX_BUCKET_ROWS) await flushBucket(key, bucket);
    }
    await store.insertPredictions(predictions);
  };

  const rowsOf = (bucket: Bucket) => {
    const first = Object.values(bucket.columns)[0];
    return first?.length ?? 0;
  };

  const endpointModels = new Map<string, string>();
  const endpointModel = async (endpoint: string): Promise<string | undefined> => {
    const cached = endpointModels.get(endpoint);
    if (cached !== undefined) return cached;
    try {
      const view = await deps.deployments.get(endpoint);
      endpointModels.set(endpoint, view.model);
      return view.model;
    } catch {
      return undefined;
    }
  };

  const stableVersions = new Map<string, { version: string; atMs: number }>();
  /** The version whose reference a monitor compares with: pinned, else the endpoint's stable one (cached 1 s). */
  const referenceVersionOf = async (endpoint: string, monitor: LoadedMonitor, fallback: string) => {
    if (monitor.config.reference_version !== undefined) return monitor.config.reference_version;
    const cached = stableVersions.get(endpoint);
    const now = Date.now();
    if (cached !== undefined && now - cached.atMs < 1000) return cached.version;
    try {
      const version = (await deps.deployments.get(endpoint)).stable_version;
      stableVersions.set(endpoint, { version, atMs: now });
      return version;
    } catch {
      return fallback;
    }
  };

  /** Profiles a bucket against its version's reference schema and writes it (merging with an earlier part). */
  const flushBucket = async (key: string, bucket: Bucket): Promise<void> => {
    buckets.delete(key);
    const monitor = monitors.get(bucket.endpoint);
    const model = await endpointModel(bucket.endpoint);
    if (monitor === undefined || model === undefined) return;
    // Every bucket is binned on the reference the runs compare with (the stable version's), whichever version
    // answered: windows of a canary and its baseline then merge exactly.
    const reference = await referenceFor(
      model,
      await referenceVersionOf(bucket.endpoint, monitor, bucket.version),
    );
    const schema = reference?.schema ?? inferSchema(bucket.columns);
    const profile = profileColumns(bucket.columns, schema, bucket.violations);
    profile.rows = rowsOf(bucket);
    profile.latencyMs = profileColumn(bucket.latencies, { kind: 'numeric' });
    await store.saveWindow(
      {
        endpoint: bucket.endpoint,
        version: bucket.version,
        replica,
        start_ms: bucket.start,
        end_ms: bucket.start + bucketMs,
        rows: profile.rows,
        profile_json: JSON.stringify(profile),
      },
      (existing) => {
        const merged = mergeDatasetProfiles(parseDatasetProfile(existing), profile);
        return { rows: merged.rows, profile_json: JSON.stringify(merged) };
      },
    );
  };

  /** Writes buckets that ended (all of them with `all`, after the payload log's buffer), so runs see them. */
  const flush = async (all = false): Promise<void> => {
    if (all) await deps.flushPayloads?.();
    const now = deps.clock.nowMs();
    for (const [key, bucket] of [...buckets]) {
      if (all || bucket.start + bucketMs <= now) await flushBucket(key, bucket);
    }
  };

  const sink = (inner: PayloadSink): PayloadSink => ({
    async write(records) {
      await inner.write(records);
      try {
        await track(ingest(records));
      } catch (error) {
        deps.metrics.ingestErrors.inc();
        throw error;
      }
    },
    close: () => inner.close(),
  });

  /** Profiles a version's reference rows (features from the dataset; the prediction from running the model). */
  const captureReference = async (
    model: string,
    version: string,
    source: DatasetSource,
    sourceLabel: string,
  ): Promise<{ rows: number; columns: string[] }> => {
    const detail = await deps.registry.getModelVersionDetail(model, version);
    const signature = detail.signature;
    if (signature === undefined)
      throw invalidParameter(
        `model ${model} version ${version} has no signature; a reference needs an ONNX model`,
      );
    const inputNames = signature.inputs.map((i) => i.name);
    // Enough rows for every test's resolution, few enough that profiling stays a fraction of a second.
    const columns = await readColumns(source, undefined, { sampleRows: REFERENCE_MAX_ROWS });
    const missing = inputNames.filter((name) => columns[name] === undefined);
    if (missing.length > 0) {
      throw invalidParameter(
        `reference data lacks the model's input column(s) ${missing.map((m) => `'${m}'`).join(', ')}; it has ${Object.keys(columns).join(', ')}`,
      );
    }
    const features: Columns = Object.fromEntries(
      inputNames.map((name) => [name, columns[name] as unknown[]]),
    );
    const predictions = await predictReference(model, version, features);
    if (predictions !== undefined) features[PREDICTION_COLUMN] = predictions;
    const { schema, profile } = profileReference(features);
    await store.insertReference({
      model,
      version,
      source: sourceLabel,
      schema_json: JSON.stringify(schema),
      profile_json: JSON.stringify(profile),
      created_at: deps.clock.nowMs(),
    });
    referenceCache.delete(`${model}\u0000${version}`);
    return { rows: profile.rows, columns: Object.keys(schema) };
  };

  /** Runs the model over (up to 20,000 of) the reference rows, in the serving runtime, for the prediction profile. */
  const predictReference = async (model: string, version: string, features: Columns) => {
    const names = Object.keys(features);
    const total = (features[names[0] as string] as unknown[]).length;
    const step = Math.max(1, Math.floor(total / 20_000));
    const wasLoaded = deps.serving.list().some((m) => m.name === model && m.version === version);
    const served = await deps.serving.ensureLoaded(model, version);
    const { prediction: monitorSpec } = predictionSpecOf(served.signature.outputs.map((o) => o.name));
    const out: unknown[] = new Array(total).fill(null);
    try {
      for (let start = 0; start < total; start += 1000 * step) {
        const rows: number[] = [];
        for (let i = start; i < Math.min(total, start + 1000 * step); i += step) rows.push(i);
        const decoded = decodeInvocation(
          {
            dataframe_split: {
              columns: names,
              data: rows.map((i) => names.map((n) => features[n]?.[i] ?? null)),
            },
          },
          served.signature,
        );
        const result = await deps.serving.infer(
          served,
          { inputs: decoded.inputs, rows: decoded.rows, batchable: true },
          `reference-${newHexId().slice(0, 8)}`,
        );
        const record = {
          rows: decoded.rows,
          outputs: Object.fromEntries(
            Object.entries(result.outputs).map(([k, t]) => [k, Array.from(t.data as ArrayLike<unknown>)]),
          ),
        } as unknown as PayloadRecord;
        const predicted = predictionOf(record, monitorSpec);
        predicted?.values.forEach((v, j) => {
          out[rows[j] as number] = v;
        });
      }
    } catch {
      // Rows the model refuses (nulls in a float input, say) leave the prediction profile out; features remain.
      return undefined;
    } finally {
      // Unloading here could pull the version from under an endpoint deployed meanwhile; the deployment
      // service's sweep unloads it only if no endpoint routes to it.
      if (!wasLoaded) deps.deployments.releaseWhenUnused(model, version);
    }
    return out;
  };

  /** On registration: a reference from the version's training/validation dataset, when it is a readable file. */
  const captureFromLineage = async (version: ModelVersion): Promise<void> => {
    const detail = await deps.registry.getModelVersionDetail(version.name, version.version);
    const datasets = [...detail.lineage.datasets].sort((a, b) => rank(a.context) - rank(b.context));
    for (const dataset of datasets) {
      const path = datasetPath(dataset.source);
      if (path === undefined) continue;
      try {
        await captureReference(
          version.name,
          version.version,
          { path },
          `dataset ${dataset.name} (${dataset.digest})`,
        );
        return;
      } catch {
        // Not readable here, or not the model's columns: try the next dataset; the reference can be set later.
      }
    }
  };
  // Not tracked for shutdown: a capture cut off by a stop fails quietly, and the reference can be set again.
  deps.registry.onVersionCreated((version) => {
    void captureFromLineage(version).catch(() => {});
  });

  /** Runs one monitor over its current window, stores the result, updates metrics and evaluates alerts. */
  const run = async (
    endpoint: string,
    at?: number,
    window?: { start: number; end: number },
  ): Promise<MonitorResult> => {
    const row = await store.getMonitor(endpoint);
    if (row === undefined)
      throw notFound(
        `Endpoint '${endpoint}' has no monitor; create one with PUT /api/v1/endpoints/${endpoint}/monitor`,
      );
    const monitor = await describeMonitor(endpoint, JSON.parse(row.config_json));
    monitors.set(endpoint, monitor);
    await flush(true);
    const view = await deps.deployments.get(endpoint);
    const now = at ?? deps.clock.nowMs();
    const { config } = monitor;
    let end = config.window_kind === 'tumbling' ? Math.floor(now / config.window_ms) * config.window_ms : now;
    let start = end - config.window_ms;
    if (window !== undefined) {
      if (!(window.end > window.start))
        throw invalidParameter(`run: 'to' (${window.end}) must be after 'from' (${window.start})`);
      ({ start, end } = window);
    }
    const result = await evaluate(
      endpoint,
      view.model,
      monitor,
      start,
      end,
      config.reference_version ?? view.stable_version,
    );
    result.run_at = now;
    result.alerts = await evaluateAlerts(endpoint, result, now);
    await store.insertResult({
      endpoint,
      run_at: now,
      window_start: start,
      window_end: end,
      result_json: JSON.stringify(result),
    });
    await store.setLastRun(endpoint, now);
    deps.metrics.observe(endpoint, result);
    return result;
  };

  /** Drift, quality, performance and latency of [start, end) against the baseline. */
  const evaluate = async (
    endpoint: string,
    model: string,
    monitor: LoadedMonitor,
    start: number,
    end: number,
    referenceVersion: string,
  ): Promise<MonitorResult> => {
    const result: MonitorResult = {
      endpoint,
      model,
      reference_version: referenceVersion,
      run_at: end,
      window: { start, end },
      metrics: {},
      alerts: [],
    };
    const current = await windowProfile(endpoint, start, end);
    let baseline: DatasetProfile | undefined;
    if (monitor.config.baseline === 'previous_window') {
      baseline = await windowProfile(endpoint, start - (end - start), start);
    } else {
      baseline = (await referenceFor(model, referenceVersion))?.profile;
    }
    if (current !== undefined) {
      result.metrics.rows = current.rows;
      result.metrics.schema_violations = current.schemaViolations;
      if (current.latencyMs?.kind === 'numeric' && current.latencyMs.count > 0) {
        result.latency = {
          p50_ms: profileQuantile(current.latencyMs, 0.5),
          p99_ms: profileQuantile(current.latencyMs, 0.99),
          requests: current.latencyMs.count,
        };
        result.metrics.p50_latency = result.latency.p50_ms;
        result.metrics.p99_latency = result.latency.p99_ms;
      }
      if (baseline !== undefined && baseline.rows > 0) {
        const options: CompareOptions = {
          tests: monitor.config.tests,
          driftShare: monitor.config.drift_share,
        };
        const drift = compareProfiles(baseline, current, options);
        result.drift = drift;
        Object.assign(result.metrics, driftMetrics(drift));
      }
    }
    const performance = await performanceOf(endpoint, monitor, start, end);
    if (performance !== undefined) {
      result.performance = performance;
      result.metrics.labelled_rows = performance.labelled_rows;
      for (const [key, value] of Object.entries(performance.overall)) {
        result.metrics[key === 'roc_auc' ? 'auc' : key] = value;
      }
    }
    return result;
  };

  const windowProfile = async (endpoint: string, start: number, end: number) => {
    const rows = await store.windows(endpoint, start, end);
    if (rows.length === 0) return undefined;
    return rows.map((r) => parseDatasetProfile(r.profile_json)).reduce(mergeDatasetProfiles);
  };

  const performanceOf = async (
    endpoint: string,
    monitor: LoadedMonitor,
    start: number,
    end: number,
  ): Promise<PerformanceReport | undefined> => {
    const rows = await store.labelledPredictions(endpoint, start, end);
    const usable = rows.filter((r) => r.prediction !== null && r.label !== null);
    if (usable.length === 0) return undefined;
    const compute = (subset: typeof usable): Record<string, number> => {
      const labels = subset.map((r) => r.label as number);
      const predictions = subset.map((r) => r.prediction as number);
      if (monitor.task === 'regression') return { ...regressionMetrics(labels, predictions) };
      const scores = predictions.map((p) => Math.min(Math.max(p, 0), 1));
      return { ...classificationMetrics(labels, scores, monitor.config.threshold) };
    };
    const byVersion: Record<string, Record<string, number>> = {};
    for (const version of new Set(usable.map((r) => r.version))) {
      byVersion[version] = compute(usable.filter((r) => r.version === version));
    }
    return {
      task: monitor.task,
      labelled_rows: usable.length,
      overall: compute(usable),
      by_version: byVersion,
    };
  };

  const notify = async (
    rule: { webhook_url: string | null; webhook_format: string },
    payload: Record<string, unknown>,
    text: string,
  ): Promise<{ status?: number; error?: string; attempts: number }> => {
    if (rule.webhook_url === null) return { attempts: 0 };
    const body = JSON.stringify(rule.webhook_format === 'slack' ? { text, ...payload } : payload);
    let last: { status?: number; error?: string; attempts: number } = { attempts: 0 };
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const response = await fetch(rule.webhook_url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(5000),
        });
        last = { status: response.status, attempts: attempt };
        if (response.ok) return last;
      } catch (error) {
        last = { error: (error as Error).message, attempts: attempt };
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
    return last;
  };

  const evaluateAlerts = async (endpoint: string, result: MonitorResult, now: number) => {
    const outcomes: MonitorResult['alerts'] = [];
    for (const rule of await store.rules(endpoint)) {
      const condition = parseAlertCondition(rule.expression);
      const value = result.metrics[condition.metric];
      const step = stepAlert(
        { state: rule.state as AlertState, since: rule.state_since },
        condition,
        value,
        now,
      );
      await store.updateRule(rule.id, {
        state: step.state,
        state_since: step.since,
        ...(value !== undefined && Number.isFinite(value) && { last_value: value }),
      });
      deps.metrics.alertFiring.set({ endpoint, rule: rule.name }, step.state === 'firing' ? 1 : 0);
      outcomes.push({ rule: rule.name, state: step.state, ...(value !== undefined && { value }) });
      if (step.notify === undefined) continue;
      const payload: Record<string, unknown> = {
        endpoint,
        rule: rule.name,
        expression: rule.expression,
        state: step.notify,
        value: value ?? null,
        threshold: condition.threshold,
        at: new Date(now).toISOString(),
        window: {
          start: new Date(result.window.start).toISOString(),
          end: new Date(result.window.end).toISOString(),
        },
        ...(deps.publicUrl !== undefined && {
          report_url: `${deps.publicUrl}/api/v1/endpoints/${encodeURIComponent(endpoint)}/monitor/report?format=html`,
        }),
      };
      const text = `${step.notify === 'firing' ? ':rotating_light: FIRING' : ':white_check_mark: RESOLVED'} ${endpoint}: ${rule.name} (${rule.expression}); value ${formatValue(value)}`;
      const delivery: Record<string, unknown> = { webhook: await notify(rule, payload, text) };
      if (step.notify === 'firing' && rule.pipeline !== null) {
        if (deps.triggerPipeline === undefined)
          delivery.pipeline = { error: 'pipelines are not available in this process' };
        else {
          try {
            delivery.pipeline = {
              name: rule.pipeline,
              ...(await deps.triggerPipeline(rule.pipeline, { reason: 'alert', input: payload })),
            };
          } catch (error) {
            delivery.pipeline = { name: rule.pipeline, error: (error as Error).message };
          }
        }
      }
      await store.insertEvent({
        rule_id: rule.id,
        endpoint,
        rule: rule.name,
        state: step.notify,
        value: value !== undefined && Number.isFinite(value) ? value : null,
        at: now,
        delivery_json: JSON.stringify(delivery),
      });
    }
    return outcomes;
  };

  const tick = async () => {
    const now = deps.clock.nowMs();
    for (const row of await store.listMonitors()) {
      const config = monitorConfigSchema.parse(JSON.parse(row.config_json));
      if (row.last_run_at !== null && now - row.last_run_at < config.interval_ms) continue;
      if (!(await store.acquireLease(row.endpoint, replica, now, now + Math.max(config.interval_ms, 30_000))))
        continue;
      try {
        await run(row.endpoint, now);
        deps.metrics.runs.inc({ endpoint: row.endpoint, outcome: 'ok' });
      } catch {
        deps.metrics.runs.inc({ endpoint: row.endpoint, outcome: 'error' });
        await store.setLastRun(row.endpoint, now);
      }
    }
  };

  const self = {
    replica,
    /** Wraps the payload log's sink so monitoring sees every logged batch (after it is written). */
    sink,
    ingest,
    flush,

    /** Whether a request for this endpoint (or directly served model) is logged, per the monitor's sample rate. */
    sampleLog(endpointOrModel: string): boolean {
      const rate = monitors.get(endpointOrModel)?.config.sample_rate ?? 1;
      return rate >= 1 || Math.random() < rate;
    },

    async start(options: { schedule: boolean } = { schedule: true }): Promise<void> {
      configLoaded = loadMonitors();
      await configLoaded;
      const flushTimer = setInterval(
        () => void track(flush()).catch(() => {}),
        deps.flushIntervalMs ?? 10_000,
      );
      flushTimer.unref();
      timers.push(flushTimer);
      const log = deps.inferenceLog;
      if (log !== undefined) {
        const compact = () =>
          void track(
            compactInferenceLog(log.dir, { nowMs: deps.clock.nowMs(), retentionMs: log.retentionMs }),
          ).catch(() => deps.metrics.ingestErrors.inc());
        const compactTimer = setInterval(compact, log.compactEveryMs ?? 600_000);
        compactTimer.unref();
        timers.push(compactTimer);
      }
      if (options.schedule) {
        const tickTimer = setInterval(() => void track(tick()).catch(() => {}), deps.tickMs ?? 5000);
        tickTimer.unref();
        timers.push(tickTimer);
      }
    },

    /** Stops the timers and writes what is buffered. */
    async stop(): Promise<void> {
      for (const timer of timers) clearInterval(timer);
      timers = [];
      await Promise.allSettled([...running]);
      await flush(true).catch(() => {});
    },

    async configure(endpoint: string, input: unknown): Promise<MonitorConfig & { endpoint: string }> {
      await deps.deployments.get(endpoint);
      const existing = await store.getMonitor(endpoint);
      const merged = {
        ...(existing === undefined ? {} : JSON.parse(existing.config_json)),
        ...(input as object),
      };
      const parsed = monitorConfigSchema.safeParse(merged);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw invalidParameter(
          `monitor.${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`,
        );
      }
      await store.upsertMonitor(endpoint, JSON.stringify(parsed.data), deps.clock.nowMs());
      monitors.set(endpoint, await describeMonitor(endpoint, parsed.data));
      return { endpoint, ...parsed.data };
    },

    async get(endpoint: string) {
      const row = await store.getMonitor(endpoint);
      if (row === undefined) throw notFound(`Endpoint '${endpoint}' has no monitor`);
      const loaded = await describeMonitor(endpoint, JSON.parse(row.config_json));
      const [latest] = await store.results(endpoint, 1);
      return {
        endpoint,
        config: loaded.config,
        task: loaded.task,
        prediction: loaded.prediction,
        last_run_at: row.last_run_at,
        labels: {
          accepted: row.labels_accepted,
          unknown: row.labels_unknown,
          duplicate: row.labels_duplicate,
          conflicting: row.labels_conflicting,
        },
        latest: latest === undefined ? undefined : (JSON.parse(latest.result_json) as MonitorResult),
        rules: (await store.rules(endpoint)).map(ruleView),
      };
    },

    async list() {
      return Promise.all((await store.listMonitors()).map((row) => self.get(row.endpoint)));
    },

    async remove(endpoint: string): Promise<void> {
      await store.deleteMonitor(endpoint);
      monitors.delete(endpoint);
    },

    run,
    captureReference,

    /** The reference profile a version is monitored against. */
    async reference(model: string, version: string) {
      const found = await referenceFor(model, version);
      if (found === undefined)
        throw notFound(
          `Model ${model} version ${version} has no reference profile; set one with its dataset`,
        );
      return { model, version, source: found.source, rows: found.profile.rows, profile: found.profile };
    },

    /**
     * Joins ground truth to logged predictions. Unknown request ids, repeated labels (same value) and conflicting
     * ones (another value; the first is kept) are counted and reported, never written.
     */
    async ingestLabels(endpoint: string, labels: readonly LabelInput[]): Promise<LabelOutcome> {
      const row = await store.getMonitor(endpoint);
      if (row === undefined)
        throw notFound(`Endpoint '${endpoint}' has no monitor; labels join the predictions a monitor logs`);
      const monitor = await describeMonitor(endpoint, JSON.parse(row.config_json));
      if (monitor.task === 'classification') {
        labels.forEach((l, i) => {
          if (l.label !== 0 && l.label !== 1)
            throw invalidParameter(
              `labels[${i}].label is ${l.label}; expected 0 or 1 for a classification endpoint`,
            );
        });
      }
      await flush(true);
      const outcome: LabelOutcome = {
        accepted: 0,
        duplicate: 0,
        conflicting: 0,
        unknown: 0,
        unknown_request_ids: [],
      };
      // One transaction per 500 labels, with a turn of the event loop between them: a 100,000-label call must not
      // hold the database and the event loop for its whole length while inference requests wait. A call that
      // fails part way can be sent again: what was written comes back as duplicates, nothing twice.
      for (let i = 0; i < labels.length; i += 500) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        await store.db.transaction().execute(async (trx) => {
          const chunk = labels.slice(i, i + 500);
          const found = await trx
            .selectFrom('monitor_predictions')
            .select(['request_id', 'row_index', 'label'])
            .where('endpoint', '=', endpoint)
            .where('request_id', 'in', [...new Set(chunk.map((l) => l.request_id))])
            .execute();
          const known = new Map(found.map((f) => [`${f.request_id}\u0000${f.row_index}`, f.label]));
          const now = deps.clock.nowMs();
          for (const label of chunk) {
            const key = `${label.request_id}\u0000${label.row ?? 0}`;
            if (!known.has(key)) {
              outcome.unknown++;
              if (outcome.unknown_request_ids.length < 100)
                outcome.unknown_request_ids.push(label.request_id);
              continue;
            }
            const existing = known.get(key);
            if (existing !== null && existing !== undefined) {
              if (existing === label.label) outcome.duplicate++;
              else outcome.conflicting++;
              continue;
            }
            await trx
              .updateTable('monitor_predictions')
              .set({ label: label.label, labelled_at: now })
              .where('endpoint', '=', endpoint)
              .where('request_id', '=', label.request_id)
              .where('row_index', '=', label.row ?? 0)
              .execute();
            known.set(key, label.label);
            outcome.accepted++;
          }
        });
      }
      await store.addLabelCounts(endpoint, {
        accepted: outcome.accepted,
        unknown: outcome.unknown,
        duplicate: outcome.duplicate,
        conflicting: outcome.conflicting,
      });
      for (const kind of ['accepted', 'unknown', 'duplicate', 'conflicting'] as const) {
        if (outcome[kind] > 0) deps.metrics.labels.inc({ endpoint, outcome: kind }, outcome[kind]);
      }
      return outcome;
    },

    /** Drift, quality, performance and latency for any past interval (the report's data). */
    async report(endpoint: string, from: number, to: number): Promise<MonitorResult> {
      if (!(to > from)) throw invalidParameter(`report: 'to' (${to}) must be after 'from' (${from})`);
      const row = await store.getMonitor(endpoint);
      if (row === undefined) throw notFound(`Endpoint '${endpoint}' has no monitor`);
      await flush(true);
      const monitor = await describeMonitor(endpoint, JSON.parse(row.config_json));
      const view = await deps.deployments.get(endpoint);
      return evaluate(
        endpoint,
        view.model,
        monitor,
        from,
        to,
        monitor.config.reference_version ?? view.stable_version,
      );
    },

    async results(endpoint: string, limit = 20): Promise<MonitorResult[]> {
      return (await store.results(endpoint, limit)).map((r) => JSON.parse(r.result_json) as MonitorResult);
    },

    async addRule(
      endpoint: string,
      input: {
        name: string;
        expression: string;
        webhook_url?: string;
        webhook_format?: 'json' | 'slack';
        pipeline?: string;
      },
    ) {
      await deps.deployments.get(endpoint);
      const condition: AlertCondition = parseAlertCondition(input.expression);
      if (input.webhook_url !== undefined) {
        let url: URL;
        try {
          url = new URL(input.webhook_url);
        } catch {
          throw invalidParameter(`webhook_url '${input.webhook_url}' is not a URL; expected http(s)://…`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          throw invalidParameter(`webhook_url '${input.webhook_url}': expected an http or https URL`);
      }
      const existing = await store.getRule(endpoint, input.name);
      const fields = {
        expression: input.expression,
        for_ms: condition.forMs,
        webhook_url: input.webhook_url ?? null,
        webhook_format: input.webhook_format ?? 'json',
        pipeline: input.pipeline ?? null,
      };
      if (existing === undefined) {
        await store.insertRule({
          endpoint,
          name: input.name,
          ...fields,
          state: 'ok',
          state_since: deps.clock.nowMs(),
          breaches: 0,
          last_value: null,
          created_at: deps.clock.nowMs(),
        });
      } else {
        await store.updateRule(existing.id, fields);
      }
      return ruleView(
        (await store.getRule(endpoint, input.name)) as NonNullable<Awaited<ReturnType<typeof store.getRule>>>,
      );
    },

    async rules(endpoint?: string) {
      return (await store.rules(endpoint)).map(ruleView);
    },

    async deleteRule(endpoint: string, name: string): Promise<void> {
      const result = await store.deleteRule(endpoint, name);
      if (Number(result.numDeletedRows) === 0)
        throw notFound(`Endpoint '${endpoint}' has no alert rule '${name}'`);
      deps.metrics.alertFiring.remove({ endpoint, rule: name });
    },

    async events(endpoint: string, limit = 50) {
      return (await store.events(endpoint, limit)).map((e) => ({
        id: e.id,
        rule: e.rule,
        state: e.state,
        value: e.value,
        at: e.at,
        delivery: JSON.parse(e.delivery_json),
      }));
    },

    /** Dataset-against-dataset drift (Evidently's report on two tables), read with DuckDB. */
    async compareDatasets(
      reference: DatasetSource,
      current: DatasetSource,
      options: CompareOptions & { columns?: string[] } = {},
    ): Promise<DatasetComparison> {
      const [ref, cur] = await Promise.all([
        readColumns(reference, options.columns),
        readColumns(current, options.columns),
      ]);
      return compareColumns(ref, cur, options);
    },
  };
  return self;
}

export type MonitoringService = ReturnType<typeof createMonitoringService>;

/** Profiles both tables (the current one against the reference's bins) and compares them. */
export function compareColumns(
  reference: Columns,
  current: Columns,
  options: CompareOptions = {},
): DatasetComparison {
  const { schema, profile } = profileReference(reference);
  const violations = Object.keys(current).filter((c) => schema[c] === undefined).length > 0 ? 1 : 0;
  const currentProfile = profileColumns(current, schema, violations);
  return compareProfiles(profile, currentProfile, options);
}

function driftMetrics(drift: DatasetComparison): Record<string, number> {
  const metrics: Record<string, number> = {
    drift_share: drift.drift_share,
    dataset_drift: drift.dataset_drift ? 1 : 0,
    drifted_features: drift.drifted_features,
    missing_rate: drift.missing_rate,
    out_of_range_rate: 0,
    unseen_rate: 0,
    type_mismatches: 0,
  };
  for (const column of drift.columns) {
    if (column.role === 'prediction') continue;
    metrics.out_of_range_rate = Math.max(
      metrics.out_of_range_rate as number,
      column.quality.out_of_range_rate,
    );
    metrics.unseen_rate = Math.max(metrics.unseen_rate as number, column.quality.unseen_rate);
    metrics.type_mismatches = (metrics.type_mismatches as number) + column.quality.type_mismatches;
    if (column.drift !== undefined) {
      metrics[`drift:${column.column}`] = column.drift.value;
      metrics[`drifted:${column.column}`] = column.drift.drifted ? 1 : 0;
    }
  }
  if (drift.prediction_drift !== undefined) {
    metrics.prediction_drift = drift.prediction_drift.value;
    metrics.prediction_drifted = drift.prediction_drift.drifted ? 1 : 0;
  }
  return metrics;
}

function ruleView(rule: {
  name: string;
  endpoint: string;
  expression: string;
  webhook_url: string | null;
  webhook_format: string;
  pipeline: string | null;
  state: string;
  state_since: number;
  last_value: number | null;
}) {
  return {
    name: rule.name,
    endpoint: rule.endpoint,
    expression: rule.expression,
    ...(rule.webhook_url !== null && { webhook_url: rule.webhook_url }),
    webhook_format: rule.webhook_format,
    ...(rule.pipeline !== null && { pipeline: rule.pipeline }),
    state: rule.state,
    state_since: rule.state_since,
    ...(rule.last_value !== null && { last_value: rule.last_value }),
  };
}

/**
 * Which output is a model's prediction, and the task: P(class 1) of a `prob…` output (a classifier), else the
 * first output (a regressor), unless the monitor's settings name them.
 */
function predictionSpecOf(
  outputs: readonly string[],
  config: Partial<
    Pick<MonitorConfig, 'task' | 'prediction_output' | 'prediction_index' | 'label_output'>
  > = {},
): { task: 'classification' | 'regression'; prediction: PredictionSpec } {
  const probabilities = outputs.find((o) => /^prob/i.test(o));
  const output = config.prediction_output ?? probabilities ?? outputs[0] ?? 'output';
  const labelOutput = config.label_output ?? outputs.find((o) => o === 'label' || o === 'output_label');
  return {
    task: config.task ?? (probabilities !== undefined ? 'classification' : 'regression'),
    prediction: {
      output,
      index: config.prediction_index ?? (output === probabilities ? 1 : 0),
      ...(labelOutput !== undefined && { labelOutput }),
    },
  };
}

/** Kinds for a bucket without a reference: numeric when every present value is a number. */
function inferSchema(columns: Record<string, unknown[]>): DatasetSchema {
  const schema: DatasetSchema = {};
  for (const [name, values] of Object.entries(columns)) {
    const present = values.filter((v) => v !== null && v !== undefined);
    schema[name] = { kind: present.every((v) => typeof v === 'number') ? 'numeric' : 'categorical' };
  }
  return schema;
}

const rank = (context: string | undefined) => (context === 'training' ? 0 : context === 'validation' ? 1 : 2);

/** A dataset source usable as a local path: a plain path, a `file://` URI, or MLflow's JSON `{"uri"|"path"}`. */
function datasetPath(source: string): string | undefined {
  let candidate = source.trim();
  if (candidate.startsWith('{')) {
    try {
      const parsed = JSON.parse(candidate) as { uri?: string; path?: string; url?: string };
      candidate = parsed.uri ?? parsed.path ?? parsed.url ?? '';
    } catch {
      return undefined;
    }
  }
  if (candidate.startsWith('file://')) candidate = decodeURIComponent(candidate.slice('file://'.length));
  if (!/\.(parquet|csv|json|jsonl|ndjson)$/i.test(candidate)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(candidate)) return undefined;
  return candidate;
}

const formatValue = (value: number | undefined) =>
  value === undefined ? 'n/a' : Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
