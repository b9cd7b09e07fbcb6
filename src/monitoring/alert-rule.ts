import { invalidParameter } from '../core/errors.js';

/** Comparison operators an alert rule may use. */
export type AlertOperator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** A parsed rule: `metric op threshold [for duration]`, e.g. `drift_share >= 0.5`, `p99_latency > 50ms for 5m`. */
export interface AlertCondition {
  metric: string;
  op: AlertOperator;
  /** In the metric's base unit: latency thresholds written as `50ms` or `0.05s` are stored in milliseconds. */
  threshold: number;
  /** How long the condition must hold before the alert fires (Prometheus' `for`); 0 fires on the first breach. */
  forMs: number;
}

/**
 * Metrics a rule can name, as every monitor run computes them. `drift:<feature>` is the feature's drift score
 * (a p-value for KS/chi-square, a distance for the others) and `drifted:<feature>` is 1 when it drifted.
 */
export const ALERT_METRICS: Readonly<Record<string, string>> = {
  drift_share: 'share of features that drifted (0-1)',
  dataset_drift: '1 when drift_share >= the monitor drift_share',
  drifted_features: 'number of drifted features',
  prediction_drift: "drift score of the model's prediction",
  prediction_drifted: '1 when the prediction drifted',
  missing_rate: 'missing values / all feature values',
  schema_violations: 'requests whose inputs did not match the reference columns',
  out_of_range_rate: 'largest share of out-of-range values over numeric features',
  unseen_rate: 'largest share of unseen categories over categorical features',
  type_mismatches: 'values of the wrong type, over all features',
  rows: 'rows in the window',
  labelled_rows: 'rows in the window with a label',
  accuracy: 'classification accuracy of labelled rows',
  precision: 'precision of labelled rows',
  recall: 'recall of labelled rows',
  f1: 'F1 of labelled rows',
  auc: 'ROC AUC of labelled rows',
  log_loss: 'log loss of labelled rows',
  mae: 'mean absolute error of labelled rows',
  rmse: 'root mean squared error of labelled rows',
  r2: 'R² of labelled rows',
  p50_latency: 'median request latency, ms',
  p99_latency: '99th percentile request latency, ms',
};

const OPERATORS: readonly AlertOperator[] = ['<=', '>=', '==', '!=', '<', '>'];
const DURATION_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a rule expression.
 * @throws SlipwayError INVALID_PARAMETER_VALUE naming the part that is wrong and what was expected.
 */
export function parseAlertCondition(expression: string): AlertCondition {
  const match =
    /^\s*([a-z_0-9]+(?::[A-Za-z0-9_.[\]-]+)?)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)(ms|s|m|h)?\s*(?:for\s+(\d+(?:\.\d+)?)(ms|s|m|h)\s*)?$/i.exec(
      expression,
    );
  if (match === null) {
    throw invalidParameter(
      `rule '${expression}': expected 'METRIC OP THRESHOLD [for DURATION]', e.g. 'drift_share >= 0.5', 'auc < 0.8', 'p99_latency > 50ms for 5m'`,
    );
  }
  const [, metric, op, value, unit, forValue, forUnit] = match as unknown as [
    string,
    string,
    AlertOperator,
    string,
    string | undefined,
    string | undefined,
    string | undefined,
  ];
  const base = metric.split(':')[0] as string;
  const perFeature = base === 'drift' || base === 'drifted';
  if (ALERT_METRICS[metric] === undefined && !(perFeature && metric.includes(':'))) {
    throw invalidParameter(
      `rule '${expression}': unknown metric '${metric}'; expected one of ${Object.keys(ALERT_METRICS).join(', ')}, drift:FEATURE or drifted:FEATURE`,
    );
  }
  if (!OPERATORS.includes(op)) throw invalidParameter(`rule '${expression}': unknown operator '${op}'`);
  let threshold = Number(value);
  if (unit !== undefined) {
    if (!metric.endsWith('_latency'))
      throw invalidParameter(`rule '${expression}': unit '${unit}' applies to latency metrics only`);
    threshold *= DURATION_MS[unit.toLowerCase()] as number;
  }
  const forMs =
    forValue === undefined
      ? 0
      : Number(forValue) * (DURATION_MS[(forUnit as string).toLowerCase()] as number);
  return { metric, op, threshold, forMs };
}

/** Whether a value breaches the condition. */
export function breaches(condition: AlertCondition, value: number): boolean {
  switch (condition.op) {
    case '<':
      return value < condition.threshold;
    case '<=':
      return value <= condition.threshold;
    case '>':
      return value > condition.threshold;
    case '>=':
      return value >= condition.threshold;
    case '==':
      return value === condition.threshold;
    case '!=':
      return value !== condition.threshold;
  }
}

/** ok → pending (breached, waiting out `for`) → firing → resolved (→ ok on the next clean run). */
export type AlertState = 'ok' | 'pending' | 'firing' | 'resolved';

export interface AlertStep {
  state: AlertState;
  /** When the current state began. */
  since: number;
  /** Set when this evaluation changed what subscribers should hear: a notification is due. */
  notify?: 'firing' | 'resolved';
}

/**
 * One evaluation of a rule. A missing value (no data: e.g. no labels yet) keeps the state unchanged, so an alert
 * neither fires nor resolves on silence. Notifications happen only on the transitions into firing and into
 * resolved, which de-duplicates repeated breaches.
 */
export function stepAlert(
  previous: { state: AlertState; since: number },
  condition: AlertCondition,
  value: number | undefined,
  now: number,
): AlertStep {
  if (value === undefined || Number.isNaN(value)) return { state: previous.state, since: previous.since };
  const breached = breaches(condition, value);
  const active = previous.state === 'pending' || previous.state === 'firing';
  if (breached) {
    if (previous.state === 'firing') return { state: 'firing', since: previous.since };
    const pendingSince = active ? previous.since : now;
    if (now - pendingSince >= condition.forMs) return { state: 'firing', since: now, notify: 'firing' };
    return { state: 'pending', since: pendingSince };
  }
  if (previous.state === 'firing') return { state: 'resolved', since: now, notify: 'resolved' };
  if (previous.state === 'ok') return previous;
  return { state: 'ok', since: now };
}
