import { basename } from 'node:path';
import { z } from 'zod';
import { invalidParameter } from '../core/errors.js';
import { parseInput } from '../core/request-input.js';
import { classificationMetrics, regressionMetrics } from '../monitoring/index.js';
import {
  createOnnxRuntime,
  type LoadedModel,
  type ModelRuntime,
  type Tensor,
  type TensorMap,
} from '../serving/index.js';
import { readTabular, type TabularData } from '../training/index.js';
import { type FetchedModel, fetchModel } from './gate-models.js';
import {
  type CheckOutcome,
  checkRule,
  GATE_METRICS,
  type GateMetric,
  type MetricRule,
  needsBaseline,
  parseMetricRule,
} from './gate-rules.js';

const gateOptionsSchema = z.object({
  /** Slipway server URL. */
  trackingUri: z.string().url(),
  token: z.string().optional(),
  /** `MODEL@VERSION`, `MODEL@ALIAS` or `MODEL/VERSION`. */
  candidate: z.string().min(1),
  baseline: z.string().min(1).optional(),
  /** Holdout data: a .parquet, .csv or .json file. */
  data: z.string().min(1),
  /** `NAME:key=value,...`, e.g. `auc:min_delta=0` or `latency_p99_ms:max=20`. */
  metrics: z.array(z.string().min(1)).min(1, 'expected at least one --metric'),
  /** Label column; default: the candidate's `slipway.label` tag (set by `slipway train`), else `label`. */
  label: z.string().min(1).optional(),
  /** Apply the rules per value of this column too; a failing slice fails the gate. */
  slice: z.string().min(1).optional(),
  /** Slices with fewer rows are listed but not judged; default 30. */
  minSliceSize: z.number().int().min(1).default(30),
  /** SQL condition on the data's columns. */
  where: z.string().min(1).optional(),
  /** Evaluate at most this many rows (the first ones). */
  maxRows: z.number().int().min(1).optional(),
  /** Rows per timed request; default 1 (an online request). */
  batchSize: z.number().int().min(1).max(100_000).default(1),
  /** Timed requests per model, after the warm-up; default 200. */
  latencyRequests: z.number().int().min(1).max(1_000_000).default(200),
  /** Untimed requests per model first; default 10. */
  warmupRequests: z.number().int().min(0).max(10_000).default(10),
  /** P(class 1) at or above which a row is predicted positive (accuracy, precision, recall, f1); default 0.5. */
  decisionThreshold: z.number().min(0).max(1).default(0.5),
});

/** The gate's options: a plain, serializable object (a pipeline step passes its `with:` block; snake_case keys work). */
export type GateOptions = z.input<typeof gateOptionsSchema>;

export type GateTask = 'classification' | 'regression';

export interface MetricOutcome {
  metric: GateMetric;
  candidate: number;
  baseline?: number;
  /** candidate - baseline */
  delta?: number;
  checks: CheckOutcome[];
  /** `skipped`: the metric is undefined in a slice (e.g. AUC with one class), so the slice is not judged on it. */
  status: 'pass' | 'fail' | 'skipped';
}

export interface SliceOutcome {
  value: string;
  rows: number;
  metrics: MetricOutcome[];
  passed: boolean;
}

export interface GateModelSummary {
  ref: string;
  name: string;
  version: string;
  aliases: string[];
  digest: string;
}

export interface GateResult {
  passed: boolean;
  /** The Markdown report (the same as `renderGateReport(result)`). */
  report: string;
  task: GateTask;
  label: string;
  data: string;
  rows: number;
  candidate: GateModelSummary;
  baseline?: GateModelSummary;
  metrics: MetricOutcome[];
  slices?: {
    column: string;
    minSize: number;
    judged: SliceOutcome[];
    tooSmall: { value: string; rows: number }[];
  };
  latency: { requests: number; batchSize: number; warmupRequests: number };
}

export interface GateDependencies {
  /** The runtime to evaluate with; default: a one-worker ONNX Runtime, closed at the end. */
  runtime?: ModelRuntime;
}

const LATENCY_METRICS: readonly GateMetric[] = ['latency_p50_ms', 'latency_p99_ms'];
/** Rows per inference call when computing predictions (not timed). */
const EVALUATION_BATCH_ROWS = 4096;

/** snake_case keys (from a YAML step) to the camelCase the schema names. */
const camelKeys = (input: unknown): unknown =>
  input !== null && typeof input === 'object' && !Array.isArray(input)
    ? Object.fromEntries(
        Object.entries(input).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]),
      )
    : input;

/**
 * Evaluates a candidate and (optionally) a baseline model on the same rows through ONNX Runtime, applies the
 * metric rules overall and per slice, and reports. Throws SlipwayError INVALID_PARAMETER_VALUE for unusable
 * options, references, columns or models (the CLI's exit code 2); a failed gate is a result, not an error.
 */
export async function runGate(input: GateOptions, deps: GateDependencies = {}): Promise<GateResult> {
  const options = parseInput(gateOptionsSchema, camelKeys(input));
  const rules = options.metrics.map(parseMetricRule);
  if (options.baseline === undefined) {
    const comparing = rules.find(needsBaseline);
    if (comparing !== undefined) {
      throw invalidParameter(
        `Metric rule for '${comparing.metric}' compares with a baseline, but no baseline was given: pass --baseline MODEL@ALIAS`,
      );
    }
  }
  const server = {
    trackingUri: options.trackingUri,
    ...(options.token !== undefined && { token: options.token }),
  };
  const candidateModel = await fetchModel(server, options.candidate, '--candidate');
  const baselineModel =
    options.baseline === undefined ? undefined : await fetchModel(server, options.baseline, '--baseline');

  const runtime = deps.runtime ?? createOnnxRuntime({ workers: 1 });
  const loaded: LoadedModel[] = [];
  try {
    const candidate = await runtime.load(candidateModel.bytes, { name: candidateModel.ref });
    loaded.push(candidate);
    const baseline =
      baselineModel === undefined
        ? undefined
        : await runtime.load(baselineModel.bytes, { name: baselineModel.ref });
    if (baseline !== undefined) loaded.push(baseline);

    const task = taskOf(candidate, '--candidate', options.candidate);
    if (baseline !== undefined && taskOf(baseline, '--baseline', options.baseline ?? '') !== task) {
      throw invalidParameter(
        `--candidate '${options.candidate}' is a ${task} model but --baseline '${options.baseline}' is not: they cannot be compared`,
      );
    }
    for (const rule of rules) {
      const needed = GATE_METRICS[rule.metric].task;
      if (needed !== 'any' && needed !== task) {
        throw invalidParameter(
          `Metric '${rule.metric}' needs a ${needed} model, but '${options.candidate}' is a ${task} model; expected one of ${metricsFor(task).join(', ')}`,
        );
      }
    }

    const label = options.label ?? candidateModel.tags['slipway.label'] ?? 'label';
    const models = baseline === undefined ? [candidate] : [candidate, baseline];
    const numeric = new Set<string>();
    const categorical = new Set<string>();
    for (const model of models) {
      for (const io of model.io.inputs) (io.datatype === 'BYTES' ? categorical : numeric).add(io.name);
    }
    if (options.slice !== undefined) categorical.add(options.slice);
    const data = await readTabular({
      source: { file: options.data },
      numeric: [...numeric],
      categorical: [...categorical],
      label,
      ...(options.where !== undefined && { where: options.where }),
      ...(options.maxRows !== undefined && { limit: options.maxRows }),
    }).catch((error: unknown) => {
      // A missing label column is the usual mistake: say how to name it.
      if (error instanceof Error && error.message.startsWith(`Column '${label}'`)) {
        throw invalidParameter(`${error.message}. Name the label column with --label`);
      }
      throw error;
    });
    if (data.rowCount === 0)
      throw invalidParameter(
        `No rows in ${options.data}${options.where === undefined ? '' : ` where ${options.where}`}`,
      );
    const labels = data.label as Float64Array;
    if (task === 'classification') {
      const bad = labels.findIndex((y) => y !== 0 && y !== 1);
      if (bad >= 0) {
        throw invalidParameter(
          `Label '${label}' is ${labels[bad]} at row ${bad}: a classifier's label must be 0 or 1`,
        );
      }
    }

    const candidateOutput = await predictAll(candidate, data, task);
    const baselineOutput = baseline === undefined ? undefined : await predictAll(baseline, data, task);
    const latencies = await measureLatency(models, data, options);

    const allRows = Uint32Array.from({ length: data.rowCount }, (_, i) => i);
    const metricsOf = (scores: Float64Array, rows: Uint32Array, latency?: number[]) =>
      computeMetrics(task, labels, scores, rows, options.decisionThreshold, latency);
    const candidateValues = metricsOf(candidateOutput, allRows, latencies[0]);
    const baselineValues =
      baselineOutput === undefined ? undefined : metricsOf(baselineOutput, allRows, latencies[1]);
    const metrics = rules.map((rule) => judge(rule, candidateValues, baselineValues, false));

    let slices: GateResult['slices'];
    if (options.slice !== undefined) {
      const column = data.categorical[options.slice] as string[];
      const groups = new Map<string, number[]>();
      column.forEach((value, i) => {
        const group = groups.get(value);
        if (group === undefined) groups.set(value, [i]);
        else group.push(i);
      });
      const sliceRules = rules.filter((rule) => !LATENCY_METRICS.includes(rule.metric));
      const judged: SliceOutcome[] = [];
      const tooSmall: { value: string; rows: number }[] = [];
      for (const [value, indices] of [...groups.entries()].sort((a, b) => b[1].length - a[1].length)) {
        if (indices.length < options.minSliceSize) {
          tooSmall.push({ value, rows: indices.length });
          continue;
        }
        const rows = Uint32Array.from(indices);
        const c = metricsOf(candidateOutput, rows);
        const b = baselineOutput === undefined ? undefined : metricsOf(baselineOutput, rows);
        const outcomes = sliceRules.map((rule) => judge(rule, c, b, true));
        judged.push({
          value,
          rows: rows.length,
          metrics: outcomes,
          passed: outcomes.every((m) => m.status !== 'fail'),
        });
      }
      slices = { column: options.slice, minSize: options.minSliceSize, judged, tooSmall };
    }

    const summary = (model: FetchedModel): GateModelSummary => ({
      ref: model.ref,
      name: model.name,
      version: model.version,
      aliases: model.aliases,
      digest: model.digest,
    });
    const result: GateResult = {
      passed: metrics.every((m) => m.status !== 'fail') && (slices?.judged.every((s) => s.passed) ?? true),
      report: '',
      task,
      label,
      data: options.data,
      rows: data.rowCount,
      candidate: summary(candidateModel),
      ...(baselineModel !== undefined && { baseline: summary(baselineModel) }),
      metrics,
      ...(slices !== undefined && { slices }),
      latency: {
        requests: options.latencyRequests,
        batchSize: options.batchSize,
        warmupRequests: options.warmupRequests,
      },
    };
    result.report = renderGateReport(result);
    return result;
  } finally {
    await Promise.all(loaded.map((model) => model.dispose()));
    if (deps.runtime === undefined) await runtime.close();
  }
}

const metricsFor = (task: GateTask): GateMetric[] =>
  (Object.keys(GATE_METRICS) as GateMetric[]).filter((m) => [task, 'any'].includes(GATE_METRICS[m].task));

/** A model with a `probabilities` [N, 2] output is a binary classifier; anything else is judged as a regressor. */
function taskOf(model: LoadedModel, field: string, ref: string): GateTask {
  if (model.io.outputs.some((o) => o.name === 'probabilities')) return 'classification';
  if (model.io.outputs.some((o) => o.datatype === 'FP32' || o.datatype === 'FP64')) return 'regression';
  throw invalidParameter(
    `${field} '${ref}' has no 'probabilities' output and no float output: expected a binary classifier (probabilities [N, 2]) or a regressor`,
  );
}

/** The rows [start, end) as the model's inputs: one column per input, shape [rows] or [rows, 1]. */
function feedsFor(
  model: LoadedModel,
  data: TabularData,
  rowIndex: (i: number) => number,
  count: number,
): TensorMap {
  const feeds: TensorMap = {};
  for (const input of model.io.inputs) {
    const shape = input.shape;
    const width = shape.length === 2 ? shape[1] : 1;
    if (shape.length > 2 || (typeof width === 'number' && width > 1)) {
      throw invalidParameter(
        `Model input '${input.name}' has shape [${shape.join(', ')}]: the gate feeds one data column per input; expected [N] or [N, 1]`,
      );
    }
    const dims = shape.length === 1 ? [count] : [count, 1];
    let tensor: Tensor;
    if (input.datatype === 'BYTES') {
      const column = data.categorical[input.name] as string[];
      tensor = {
        datatype: 'BYTES',
        shape: dims,
        data: Array.from({ length: count }, (_, i) => column[rowIndex(i)] as string),
      };
    } else {
      const column = data.numeric[input.name] as Float64Array;
      const values = Float64Array.from({ length: count }, (_, i) => column[rowIndex(i)] as number);
      switch (input.datatype) {
        case 'FP32':
          tensor = { datatype: 'FP32', shape: dims, data: Float32Array.from(values) };
          break;
        case 'FP64':
          tensor = { datatype: 'FP64', shape: dims, data: values };
          break;
        case 'INT64':
          tensor = {
            datatype: 'INT64',
            shape: dims,
            data: BigInt64Array.from(values, (v) => BigInt(Math.round(v))),
          };
          break;
        case 'INT32':
          tensor = { datatype: 'INT32', shape: dims, data: Int32Array.from(values) };
          break;
        case 'BOOL':
          tensor = { datatype: 'BOOL', shape: dims, data: Uint8Array.from(values, (v) => (v ? 1 : 0)) };
          break;
        default:
          throw invalidParameter(
            `Model input '${input.name}' is ${input.datatype}: the gate feeds FP32, FP64, INT64, INT32, BOOL or BYTES`,
          );
      }
    }
    feeds[input.name] = tensor;
  }
  return feeds;
}

/** P(class 1) or the predicted value of every row. */
async function predictAll(model: LoadedModel, data: TabularData, task: GateTask): Promise<Float64Array> {
  const out = new Float64Array(data.rowCount);
  const output =
    task === 'classification'
      ? 'probabilities'
      : ((
          model.io.outputs.find((o) => o.name === 'variable') ??
          model.io.outputs.find((o) => o.datatype === 'FP32' || o.datatype === 'FP64')
        )?.name ?? 'variable');
  for (let start = 0; start < data.rowCount; start += EVALUATION_BATCH_ROWS) {
    const count = Math.min(EVALUATION_BATCH_ROWS, data.rowCount - start);
    const result = await model.infer(
      feedsFor(model, data, (i) => start + i, count),
      [output],
    );
    const tensor = result[output] as Tensor;
    const values = tensor.data as Float32Array;
    const perRow = values.length / count;
    // Classifiers: column 1 of [N, 2]; regressors: the first value of each row.
    const column = task === 'classification' ? 1 : 0;
    for (let i = 0; i < count; i++) out[start + i] = values[i * perRow + column] as number;
  }
  return out;
}

/**
 * Per-request latency in ms of each model, requests interleaved (candidate, baseline, candidate, ...) so both
 * see the same machine conditions; rows cycle through the data.
 */
async function measureLatency(
  models: LoadedModel[],
  data: TabularData,
  options: { batchSize: number; latencyRequests: number; warmupRequests: number },
): Promise<number[][]> {
  const latencies = models.map(() => [] as number[]);
  const feeds = (request: number, model: LoadedModel) =>
    feedsFor(model, data, (i) => (request * options.batchSize + i) % data.rowCount, options.batchSize);
  for (let request = 0; request < options.warmupRequests + options.latencyRequests; request++) {
    for (const [m, model] of models.entries()) {
      const input = feeds(request, model);
      const started = performance.now();
      await model.infer(input);
      const elapsedMs = performance.now() - started;
      if (request >= options.warmupRequests) latencies[m]?.push(elapsedMs);
    }
  }
  return latencies;
}

/** Linear-interpolated percentile (q in [0, 1]) of unsorted values. */
function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  return (
    (sorted[lower] as number) + ((sorted[upper] as number) - (sorted[lower] as number)) * (position - lower)
  );
}

function computeMetrics(
  task: GateTask,
  labels: Float64Array,
  scores: Float64Array,
  rows: Uint32Array,
  decisionThreshold: number,
  latency?: number[],
): Partial<Record<GateMetric, number>> {
  const y = Float64Array.from(rows, (r) => labels[r] as number);
  const s = Float64Array.from(rows, (r) => scores[r] as number);
  const values: Partial<Record<GateMetric, number>> = {};
  if (task === 'classification') {
    // float32 rounding can put a probability a hair outside [0, 1].
    for (let i = 0; i < s.length; i++) s[i] = Math.min(1, Math.max(0, s[i] as number));
    const m = classificationMetrics(y, s, decisionThreshold);
    Object.assign(values, {
      auc: m.roc_auc,
      accuracy: m.accuracy,
      f1: m.f1,
      precision: m.precision,
      recall: m.recall,
      log_loss: m.log_loss,
    });
  } else {
    const m = regressionMetrics(y, s);
    Object.assign(values, { rmse: m.rmse, mae: m.mae, r2: m.r2 });
  }
  if (latency !== undefined) {
    values.latency_p50_ms = percentile(latency, 0.5);
    values.latency_p99_ms = percentile(latency, 0.99);
  }
  return values;
}

function judge(
  rule: MetricRule,
  candidateValues: Partial<Record<GateMetric, number>>,
  baselineValues: Partial<Record<GateMetric, number>> | undefined,
  inSlice: boolean,
): MetricOutcome {
  const candidate = candidateValues[rule.metric] ?? Number.NaN;
  const baseline = baselineValues?.[rule.metric];
  const checks = checkRule(rule, candidate, baseline);
  const undefinedValue = Number.isNaN(candidate) || (baseline !== undefined && Number.isNaN(baseline));
  return {
    metric: rule.metric,
    candidate,
    ...(baseline !== undefined && { baseline, delta: candidate - baseline }),
    checks,
    status: inSlice && undefinedValue ? 'skipped' : checks.every((c) => c.passed) ? 'pass' : 'fail',
  };
}

const escapeCell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function formatValue(value: number | undefined, metric: GateMetric): string {
  if (value === undefined) return '–';
  if (Number.isNaN(value)) return 'n/a';
  return LATENCY_METRICS.includes(metric) ? value.toFixed(3) : value.toFixed(4);
}

function formatDelta(value: number | undefined, metric: GateMetric): string {
  if (value === undefined) return '–';
  if (Number.isNaN(value)) return 'n/a';
  return `${value >= 0 ? '+' : ''}${formatValue(value, metric)}`;
}

const STATUS: Record<MetricOutcome['status'], string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  skipped: '➖ skipped',
};

function metricRow(m: MetricOutcome, prefix: string[] = []): string {
  const rules = m.checks
    .map((c) => (c.note === undefined || c.passed ? c.rule : `${c.rule}: ${c.note}`))
    .join('; ');
  const failed = m.checks.filter((c) => !c.passed).map((c) => c.kind);
  const status =
    m.status === 'fail' && m.checks.length > 1 ? `${STATUS.fail} (${failed.join(', ')})` : STATUS[m.status];
  return `| ${[
    ...prefix,
    `\`${m.metric}\``,
    formatValue(m.candidate, m.metric),
    formatValue(m.baseline, m.metric),
    formatDelta(m.delta, m.metric),
    escapeCell(rules),
    status,
  ].join(' | ')} |`;
}

const describeModel = (m: GateModelSummary): string =>
  `**${m.name}** v${m.version} (\`${m.ref}\`${m.aliases.length > 0 ? `; aliases: ${m.aliases.join(', ')}` : ''})`;

/** The gate's verdict as Markdown for a CI job summary: a table per metric, then per-slice tables. */
export function renderGateReport(result: GateResult): string {
  const lines: string[] = [];
  lines.push(`## Slipway gate: ${result.passed ? '✅ PASSED' : '❌ FAILED'}`, '');
  lines.push(
    `Candidate ${describeModel(result.candidate)}${result.baseline === undefined ? '' : ` vs baseline ${describeModel(result.baseline)}`}, ` +
      `evaluated on ${result.rows} rows of \`${escapeCell(basename(result.data))}\` (label \`${result.label}\`, ${result.task}) with ONNX Runtime.`,
    '',
  );
  lines.push('| metric | candidate | baseline | delta | rule | result |', '|---|---:|---:|---:|---|---|');
  for (const m of result.metrics) lines.push(metricRow(m));
  lines.push('');
  if (result.metrics.some((m) => LATENCY_METRICS.includes(m.metric))) {
    const { requests, batchSize, warmupRequests } = result.latency;
    lines.push(
      `Latency: ${requests} timed requests of ${batchSize} row${batchSize === 1 ? '' : 's'} per model after ${warmupRequests} warm-up requests, the two models interleaved on one ONNX Runtime worker.`,
      '',
    );
  }
  const slices = result.slices;
  if (slices !== undefined) {
    const failing = slices.judged.filter((s) => !s.passed);
    lines.push(
      `### Slices by \`${slices.column}\`: ${failing.length === 0 ? 'all pass' : `${failing.length} failing (${failing.map((s) => `\`${escapeCell(s.value)}\``).join(', ')})`}`,
      '',
    );
    if (slices.judged.length > 0) {
      lines.push(
        `| ${slices.column} | rows | metric | candidate | baseline | delta | rule | result |`,
        '|---|---:|---|---:|---:|---:|---|---|',
      );
      for (const s of slices.judged) {
        for (const m of s.metrics)
          lines.push(
            metricRow(m, [`\`${escapeCell(s.value === '' ? '(empty)' : s.value)}\``, String(s.rows)]),
          );
      }
      lines.push('');
    }
    if (slices.tooSmall.length > 0) {
      lines.push(
        `Not judged (under ${slices.minSize} rows): ${slices.tooSmall
          .map((s) => `\`${escapeCell(s.value === '' ? '(empty)' : s.value)}\` (${s.rows})`)
          .join(', ')}.`,
        '',
      );
    }
    if (slices.judged.some((s) => s.metrics.some((m) => m.status === 'skipped'))) {
      lines.push(
        'Skipped: the metric is undefined in that slice (e.g. AUC when the slice holds one class).',
        '',
      );
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
