import { invalidParameter } from '../../core/errors.js';

/** Binary classification quality, as scikit-learn computes it (positive class 1). */
export interface ClassificationMetrics {
  count: number;
  /** Rows whose label is 1. */
  positives: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Area under the ROC curve; NaN when only one class is present (sklearn raises there). */
  roc_auc: number;
  /** Mean negative log-likelihood, natural log, scores clipped to [eps, 1 - eps] (float64 eps, as sklearn). */
  log_loss: number;
}

export interface RegressionMetrics {
  count: number;
  mae: number;
  rmse: number;
  /** Coefficient of determination; for constant actual values 1 when every prediction is exact, else 0 (sklearn). */
  r2: number;
}

const EPS = 2.220446049250313e-16;

/**
 * Accuracy, precision, recall, F1 (at `threshold`), ROC AUC and log loss of P(class 1) scores against 0/1 labels.
 * Precision/recall/F1 are 0 when undefined, as sklearn's `zero_division=0`.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for unequal lengths, no rows, labels other than 0/1, or scores
 * outside [0, 1].
 */
export function classificationMetrics(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold = 0.5,
): ClassificationMetrics {
  const n = labels.length;
  if (n !== scores.length)
    throw invalidParameter(`metrics: ${n} labels but ${scores.length} scores; expected equal lengths`);
  if (n === 0) throw invalidParameter('metrics: no rows; expected at least one labelled prediction');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    const p = scores[i] as number;
    if (y !== 0 && y !== 1) throw invalidParameter(`metrics: label[${i}] is ${y}; expected 0 or 1`);
    if (!(p >= 0 && p <= 1)) throw invalidParameter(`metrics: score[${i}] is ${p}; expected within [0, 1]`);
    const predicted = p >= threshold ? 1 : 0;
    if (predicted === 1) {
      if (y === 1) tp++;
      else fp++;
    } else if (y === 1) fn++;
    else tn++;
    const clipped = Math.min(Math.max(p, EPS), 1 - EPS);
    loss -= y === 1 ? Math.log(clipped) : Math.log(1 - clipped);
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    count: n,
    positives: tp + fn,
    accuracy: (tp + tn) / n,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    roc_auc: rocAuc(labels, scores),
    log_loss: loss / n,
  };
}

/**
 * ROC AUC as the Mann–Whitney U statistic: the probability that a random positive outscores a random negative,
 * ties counted half (average ranks), which equals the trapezoidal area sklearn computes.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Mean absolute error, root mean squared error and R² (sklearn's `r2_score`).
 * @throws SlipwayError INVALID_PARAMETER_VALUE for unequal lengths, no rows or non-finite values.
 */
export function regressionMetrics(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
): RegressionMetrics {
  const n = actual.length;
  if (n !== predicted.length)
    throw invalidParameter(
      `metrics: ${n} actual values but ${predicted.length} predictions; expected equal lengths`,
    );
  if (n === 0) throw invalidParameter('metrics: no rows; expected at least one labelled prediction');
  let mean = 0;
  for (let i = 0; i < n; i++) {
    const y = actual[i] as number;
    const p = predicted[i] as number;
    if (!Number.isFinite(y))
      throw invalidParameter(`metrics: actual[${i}] is ${y}; expected a finite number`);
    if (!Number.isFinite(p))
      throw invalidParameter(`metrics: predicted[${i}] is ${p}; expected a finite number`);
    mean += y;
  }
  mean /= n;
  let absolute = 0;
  let squared = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = actual[i] as number;
    const error = y - (predicted[i] as number);
    absolute += Math.abs(error);
    squared += error * error;
    total += (y - mean) ** 2;
  }
  return {
    count: n,
    mae: absolute / n,
    rmse: Math.sqrt(squared / n),
    r2: total === 0 ? (squared === 0 ? 1 : 0) : 1 - squared / total,
  };
}
