import { invalidParameter } from '../core/errors.js';

/** Metrics the gate computes, with the task they need and whether a higher value is better. */
export const GATE_METRICS = {
  auc: { task: 'classification', greaterIsBetter: true },
  accuracy: { task: 'classification', greaterIsBetter: true },
  f1: { task: 'classification', greaterIsBetter: true },
  precision: { task: 'classification', greaterIsBetter: true },
  recall: { task: 'classification', greaterIsBetter: true },
  log_loss: { task: 'classification', greaterIsBetter: false },
  rmse: { task: 'regression', greaterIsBetter: false },
  mae: { task: 'regression', greaterIsBetter: false },
  r2: { task: 'regression', greaterIsBetter: true },
  latency_p50_ms: { task: 'any', greaterIsBetter: false },
  latency_p99_ms: { task: 'any', greaterIsBetter: false },
} as const;

export type GateMetric = keyof typeof GATE_METRICS;

/**
 * One metric's rule, with MLflow's `MetricThreshold` semantics plus absolute bounds:
 * - `threshold`: candidate >= threshold when greater is better, <= otherwise;
 * - `minAbsoluteChange`: candidate >= baseline + change (greater is better) or <= baseline - change;
 * - `minRelativeChange` (0..1): the candidate improves on the baseline by at least this share of |baseline|;
 *   a zero baseline falls back to "strictly better by 1e-10", as MLflow does;
 * - `min` / `max`: candidate >= min / candidate <= max, whatever the direction.
 */
export interface MetricRule {
  metric: GateMetric;
  greaterIsBetter: boolean;
  threshold?: number;
  minAbsoluteChange?: number;
  minRelativeChange?: number;
  min?: number;
  max?: number;
}

/** One check of a rule against the values, with the rule in words for the report. */
export interface CheckOutcome {
  kind: 'threshold' | 'min_absolute_change' | 'min_relative_change' | 'min' | 'max';
  passed: boolean;
  /** e.g. `candidate >= baseline + 0.01 (min_absolute_change)` */
  rule: string;
  /** Why it failed, when it did for another reason than the numbers (no baseline, undefined metric). */
  note?: string;
}

const KEYS = [
  'threshold',
  'min_delta',
  'min_absolute_change',
  'min_relative_change',
  'greater_is_better',
  'min',
  'max',
] as const;

/**
 * Parses `NAME:key=value,...`, e.g. `auc:min_delta=0.0` or `latency_p99_ms:max=20`. Keys: threshold,
 * min_delta (= min_absolute_change), min_absolute_change, min_relative_change, greater_is_better, min, max.
 * @throws SlipwayError INVALID_PARAMETER_VALUE naming the part that is wrong and what was expected.
 */
export function parseMetricRule(text: string): MetricRule {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim();
  if (!(name in GATE_METRICS)) {
    throw invalidParameter(
      `Invalid --metric '${text}': unknown metric '${name}'; expected one of ${Object.keys(GATE_METRICS).join(', ')}`,
    );
  }
  const metric = name as GateMetric;
  const rule: MetricRule = { metric, greaterIsBetter: GATE_METRICS[metric].greaterIsBetter };
  const body = colon < 0 ? '' : text.slice(colon + 1).trim();
  for (const part of body === '' ? [] : body.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const raw = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      throw invalidParameter(
        `Invalid --metric '${text}': unknown key '${key}'; expected one of ${KEYS.join(', ')}`,
      );
    }
    if (key === 'greater_is_better') {
      if (raw !== 'true' && raw !== 'false') {
        throw invalidParameter(
          `Invalid --metric '${text}': greater_is_better='${raw}'; expected true or false`,
        );
      }
      rule.greaterIsBetter = raw === 'true';
      continue;
    }
    const value = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value)) {
      throw invalidParameter(`Invalid --metric '${text}': ${key}='${raw}'; expected a number`);
    }
    if (key === 'threshold') rule.threshold = value;
    else if (key === 'min') rule.min = value;
    else if (key === 'max') rule.max = value;
    else if (key === 'min_relative_change') {
      if (value < 0 || value > 1) {
        throw invalidParameter(
          `Invalid --metric '${text}': min_relative_change=${raw}; expected a number in [0, 1]`,
        );
      }
      rule.minRelativeChange = value;
    } else {
      // MLflow requires a positive change; 0 is allowed here and means "no worse than the baseline".
      if (value < 0) {
        throw invalidParameter(`Invalid --metric '${text}': ${key}=${raw}; expected a number >= 0`);
      }
      rule.minAbsoluteChange = value;
    }
  }
  if (
    rule.threshold === undefined &&
    rule.minAbsoluteChange === undefined &&
    rule.minRelativeChange === undefined &&
    rule.min === undefined &&
    rule.max === undefined
  ) {
    throw invalidParameter(
      `Invalid --metric '${text}': no rule; expected e.g. ${name}:min_delta=0 or ${name}:threshold=0.8 or ${name}:max=20`,
    );
  }
  return rule;
}

/** Whether the rule compares against a baseline (and so needs one). */
export const needsBaseline = (rule: MetricRule): boolean =>
  rule.minAbsoluteChange !== undefined || rule.minRelativeChange !== undefined;

const show = (value: number): string => String(Number(value.toPrecision(6)));

/**
 * Applies a rule to the candidate's value and, when the rule compares, the baseline's. A missing or undefined
 * (NaN) value fails the check that needs it, as MLflow fails a metric missing from an evaluation result.
 */
export function checkRule(rule: MetricRule, candidate: number, baseline: number | undefined): CheckOutcome[] {
  const checks: CheckOutcome[] = [];
  const better = rule.greaterIsBetter;
  const cmp = better ? '>=' : '<=';
  const undefinedCandidate = Number.isNaN(candidate);
  const candidateNote = undefinedCandidate ? { note: 'the candidate value is undefined' } : {};
  if (rule.threshold !== undefined) {
    const t = rule.threshold;
    checks.push({
      kind: 'threshold',
      passed: better ? candidate >= t : candidate <= t,
      rule: `candidate ${cmp} ${show(t)} (threshold)`,
      ...candidateNote,
    });
  }
  if (rule.min !== undefined) {
    checks.push({
      kind: 'min',
      passed: candidate >= rule.min,
      rule: `candidate >= ${show(rule.min)} (min)`,
      ...candidateNote,
    });
  }
  if (rule.max !== undefined) {
    checks.push({
      kind: 'max',
      passed: candidate <= rule.max,
      rule: `candidate <= ${show(rule.max)} (max)`,
      ...candidateNote,
    });
  }
  const baselineNote =
    baseline === undefined
      ? { note: 'no baseline to compare with' }
      : Number.isNaN(baseline)
        ? { note: 'the baseline value is undefined' }
        : candidateNote;
  const comparable = baseline !== undefined && !Number.isNaN(baseline) && !undefinedCandidate;
  if (rule.minAbsoluteChange !== undefined) {
    const d = rule.minAbsoluteChange;
    const bound = comparable ? (better ? baseline + d : baseline - d) : Number.NaN;
    checks.push({
      kind: 'min_absolute_change',
      passed: comparable && (better ? candidate >= bound : candidate <= bound),
      rule: `candidate ${cmp} baseline ${better ? '+' : '-'} ${show(d)} (min_absolute_change)`,
      ...baselineNote,
    });
  }
  if (rule.minRelativeChange !== undefined) {
    const r = rule.minRelativeChange;
    let passed = false;
    if (comparable) {
      if (baseline === 0) {
        // MLflow's fallback: a relative change of a zero baseline is undefined, so ask for strictly better.
        passed = better ? candidate >= 1e-10 : candidate <= -1e-10;
      } else {
        // Relative to |baseline| (MLflow divides by the signed baseline, which inverts the rule when the
        // baseline is negative, e.g. an R² below 0).
        const change = (better ? candidate - baseline : baseline - candidate) / Math.abs(baseline);
        passed = change >= r;
      }
    }
    checks.push({
      kind: 'min_relative_change',
      passed,
      rule: `${better ? '(candidate - baseline)' : '(baseline - candidate)'} / |baseline| >= ${show(r)} (min_relative_change)`,
      ...baselineNote,
    });
  }
  return checks;
}
