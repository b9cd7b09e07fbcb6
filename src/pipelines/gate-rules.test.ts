import { describe, expect, it } from 'vitest';
import { checkRule, parseMetricRule } from './gate-rules.js';

describe('gate metric rules', () => {
  it('parses the CLI syntax with direction defaults from the metric', () => {
    expect(parseMetricRule('auc:min_delta=0.0')).toEqual({
      metric: 'auc',
      greaterIsBetter: true,
      minAbsoluteChange: 0,
    });
    expect(parseMetricRule('latency_p99_ms:max=20')).toEqual({
      metric: 'latency_p99_ms',
      greaterIsBetter: false,
      max: 20,
    });
    expect(parseMetricRule('log_loss:threshold=0.6,min_relative_change=0.05')).toEqual({
      metric: 'log_loss',
      greaterIsBetter: false,
      threshold: 0.6,
      minRelativeChange: 0.05,
    });
    expect(parseMetricRule('r2:min_absolute_change=0.1,greater_is_better=false').greaterIsBetter).toBe(false);
  });

  it('refuses bad rules naming what is wrong', () => {
    expect(() => parseMetricRule('aucc:min_delta=0')).toThrow(
      /unknown metric 'aucc'; expected one of auc, accuracy/,
    );
    expect(() => parseMetricRule('auc:delta=0')).toThrow(/unknown key 'delta'/);
    expect(() => parseMetricRule('auc:min_delta=x')).toThrow(/min_delta='x'; expected a number/);
    expect(() => parseMetricRule('auc:min_delta=-1')).toThrow(/expected a number >= 0/);
    expect(() => parseMetricRule('auc:min_relative_change=2')).toThrow(/expected a number in \[0, 1\]/);
    expect(() => parseMetricRule('auc:greater_is_better=yes')).toThrow(/expected true or false/);
    expect(() => parseMetricRule('auc')).toThrow(/no rule/);
  });

  it('applies thresholds in the metric direction, as MLflow does', () => {
    const higher = parseMetricRule('auc:threshold=0.8');
    expect(checkRule(higher, 0.8, undefined)[0]?.passed).toBe(true);
    expect(checkRule(higher, 0.79, undefined)[0]?.passed).toBe(false);
    const lower = parseMetricRule('log_loss:threshold=0.5');
    expect(checkRule(lower, 0.5, undefined)[0]?.passed).toBe(true);
    expect(checkRule(lower, 0.51, undefined)[0]?.passed).toBe(false);
    expect(checkRule(parseMetricRule('auc:max=0.9'), 0.95, undefined)[0]).toMatchObject({
      passed: false,
      rule: 'candidate <= 0.9 (max)',
    });
  });

  it('compares with the baseline by absolute and relative change', () => {
    const absolute = parseMetricRule('auc:min_delta=0.01');
    expect(checkRule(absolute, 0.72, 0.7)[0]?.passed).toBe(true);
    expect(checkRule(absolute, 0.705, 0.7)[0]?.passed).toBe(false);
    const noWorse = parseMetricRule('rmse:min_delta=0');
    expect(checkRule(noWorse, 1.0, 1.0)[0]?.passed).toBe(true);
    expect(checkRule(noWorse, 1.01, 1.0)[0]).toMatchObject({
      passed: false,
      rule: 'candidate <= baseline - 0 (min_absolute_change)',
    });
    const relative = parseMetricRule('rmse:min_relative_change=0.1');
    expect(checkRule(relative, 0.89, 1)[0]?.passed).toBe(true);
    expect(checkRule(relative, 0.95, 1)[0]?.passed).toBe(false);
    // Zero baseline: MLflow falls back to "strictly better".
    const zero = parseMetricRule('r2:min_relative_change=0.5');
    expect(checkRule(zero, 0.001, 0)[0]?.passed).toBe(true);
    expect(checkRule(zero, 0, 0)[0]?.passed).toBe(false);
    // A negative baseline: improving from -0.5 to -0.2 is a 60% improvement, not a regression.
    expect(checkRule(zero, -0.2, -0.5)[0]?.passed).toBe(true);
  });

  it('fails comparisons without a baseline or with undefined values', () => {
    const rule = parseMetricRule('auc:min_delta=0');
    expect(checkRule(rule, 0.9, undefined)[0]).toMatchObject({
      passed: false,
      note: 'no baseline to compare with',
    });
    expect(checkRule(rule, Number.NaN, 0.5)[0]).toMatchObject({ passed: false });
    expect(checkRule(parseMetricRule('auc:threshold=0.5'), Number.NaN, undefined)[0]?.passed).toBe(false);
  });
});
