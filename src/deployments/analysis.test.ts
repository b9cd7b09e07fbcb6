import { describe, expect, it } from 'vitest';
import { analyseStep, defaultChecks, quantile, type VersionWindow } from './analysis.js';

const window = (
  requests: number,
  errors: number,
  latency: number,
  predict: (i: number) => number,
): VersionWindow => ({
  requests,
  errors,
  latenciesMs: Array.from({ length: requests - errors }, (_, i) => latency + (i % 10) / 10),
  predictions: Array.from({ length: requests - errors }, (_, i) => predict(i)),
});
const spread = (i: number) => ((i * 7919) % 1000) / 1000;

describe('canary analysis', () => {
  const baseline = window(400, 0, 2, spread);

  it('passes a canary that behaves like the baseline', () => {
    const result = analyseStep(
      baseline,
      window(100, 0, 2.1, (i) => spread(i * 3)),
      defaultChecks,
    );
    expect(result.verdict).toBe('pass');
    expect(result.results.map((r) => r.verdict)).toEqual(['pass', 'pass', 'pass']);
  });

  it('fails a canary that errors on some inputs', () => {
    const result = analyseStep(baseline, window(100, 8, 2, spread), defaultChecks);
    expect(result.verdict).toBe('fail');
    expect(result.results[0]).toMatchObject({ metric: 'error_rate', verdict: 'fail', value: 0.08 });
  });

  it('fails a canary whose predictions shifted', () => {
    const result = analyseStep(
      baseline,
      window(100, 0, 2, (i) => spread(i) + 0.5),
      defaultChecks,
    );
    expect(result.verdict).toBe('fail');
    expect(result.results[2]).toMatchObject({ metric: 'prediction_psi', verdict: 'fail' });
  });

  it('fails a canary that is much slower', () => {
    const result = analyseStep(baseline, window(100, 0, 9, spread), defaultChecks);
    expect(result.results[1]).toMatchObject({ metric: 'latency_p99_ratio', verdict: 'fail' });
  });

  it('holds (inconclusive) on too few samples or NaN, never passes', () => {
    expect(analyseStep(baseline, window(10, 0, 2, spread), defaultChecks).verdict).toBe('inconclusive');
    const zeroLatency = { ...window(100, 0, 0, spread), latenciesMs: Array(100).fill(0) };
    const zeroBaseline = { ...baseline, latenciesMs: Array(400).fill(0) };
    const result = analyseStep(zeroBaseline, zeroLatency, [
      { metric: 'latency_p99_ratio', max: 2, minSamples: 10 },
    ]);
    expect(result.verdict).toBe('inconclusive');
    expect(quantile([], 0.99)).toBeNaN();
  });
});
