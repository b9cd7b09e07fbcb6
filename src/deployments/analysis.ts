import { binProportions, ksTwoSample, populationStabilityIndex } from '../monitoring/index.js';

/** What one version did during an analysis window. */
export interface VersionWindow {
  requests: number;
  errors: number;
  latenciesMs: number[];
  /** The first output value of each answered request (sampled), for prediction-shift checks. */
  predictions: number[];
}

/**
 * One canary check. `error_rate`: canary rate minus baseline rate must not exceed `max` (absolute, 0.01 = one
 * point). `latency_p99_ratio`: canary p99 / baseline p99 must not exceed `max`. `prediction_psi`: PSI of the
 * canary's predictions against the baseline's (bins from baseline quantiles) must not exceed `max`.
 */
export interface CheckSpec {
  metric: 'error_rate' | 'latency_p99_ratio' | 'prediction_psi';
  max: number;
  /** Fewer requests than this on either side: the check is inconclusive (hold), never a pass. */
  minSamples: number;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface CheckResult {
  metric: CheckSpec['metric'];
  value: number | null;
  max: number;
  verdict: Verdict;
  reason: string;
}

/** KS p-value under which a prediction shift counts as real (strict: a false rollback is costly too). */
const SHIFT_SIGNIFICANCE = 0.001;

export const defaultChecks: CheckSpec[] = [
  { metric: 'error_rate', max: 0.01, minSamples: 50 },
  // A p99 of fewer than 100 samples is their maximum: one stalled request would decide it.
  { metric: 'latency_p99_ratio', max: 2, minSamples: 100 },
  { metric: 'prediction_psi', max: 0.2, minSamples: 50 },
];

/** p-quantile by nearest rank; NaN for an empty sample. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/**
 * Evaluates the checks of one step, canary against baseline. Missing data never passes: too few samples, or a
 * value that is NaN, makes the check inconclusive; the step's verdict is `fail` if any check fails, else
 * `inconclusive` if any is, else `pass`.
 */
export function analyseStep(
  baseline: VersionWindow,
  canary: VersionWindow,
  checks: readonly CheckSpec[],
): { verdict: Verdict; results: CheckResult[] } {
  const results = checks.map((check) => evaluate(check, baseline, canary));
  const verdict: Verdict = results.some((r) => r.verdict === 'fail')
    ? 'fail'
    : results.some((r) => r.verdict === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  return { verdict, results };
}

function evaluate(check: CheckSpec, baseline: VersionWindow, canary: VersionWindow): CheckResult {
  const base = { metric: check.metric, max: check.max };
  // Error rate looks at every request; the others need answered ones.
  const canaryN = check.metric === 'error_rate' ? canary.requests : canary.requests - canary.errors;
  const baselineN = check.metric === 'error_rate' ? baseline.requests : baseline.requests - baseline.errors;
  if (canaryN < check.minSamples || baselineN < check.minSamples) {
    // A canary that fails everything still has errors to show: judge the error rate on requests alone.
    return {
      ...base,
      value: null,
      verdict: 'inconclusive',
      reason: `needs ${check.minSamples} samples per side, has ${canaryN} (canary) and ${baselineN} (baseline)`,
    };
  }
  let value: number;
  switch (check.metric) {
    case 'error_rate':
      value = canary.errors / canary.requests - baseline.errors / baseline.requests;
      break;
    case 'latency_p99_ratio':
      value = quantile(canary.latenciesMs, 0.99) / quantile(baseline.latenciesMs, 0.99);
      break;
    case 'prediction_psi': {
      if (canary.predictions.length < check.minSamples || baseline.predictions.length < check.minSamples) {
        return { ...base, value: null, verdict: 'inconclusive', reason: 'too few predictions sampled' };
      }
      const binned = binProportions(baseline.predictions, canary.predictions, { binCount: 10 });
      value = populationStabilityIndex(binned.referenceProportions, binned.currentProportions);
      // PSI over small samples is biased upwards (about (bins-1)·(1/n1 + 1/n2) for identical distributions), so
      // a high PSI fails only when a two-sample KS test also finds the shift significant; otherwise hold.
      const ks = ksTwoSample(baseline.predictions, canary.predictions);
      if (value > check.max && !(ks.pValue < SHIFT_SIGNIFICANCE)) {
        return {
          ...base,
          value,
          verdict: 'inconclusive',
          reason: `PSI ${value.toFixed(4)} but KS p=${ks.pValue.toPrecision(3)} is not significant yet`,
        };
      }
      break;
    }
  }
  if (!Number.isFinite(value))
    return { ...base, value: null, verdict: 'inconclusive', reason: `value is ${value}` };
  return value > check.max
    ? { ...base, value, verdict: 'fail', reason: `${value.toFixed(4)} > ${check.max}` }
    : { ...base, value, verdict: 'pass', reason: `${value.toFixed(4)} <= ${check.max}` };
}
