import { describe, expect, it } from 'vitest';
import { parseAlertCondition, stepAlert } from './alert-rule.js';

describe('alert rules', () => {
  it('parses metric, operator, threshold with units, and for', () => {
    expect(parseAlertCondition('drift_share >= 0.5')).toEqual({
      metric: 'drift_share',
      op: '>=',
      threshold: 0.5,
      forMs: 0,
    });
    expect(parseAlertCondition('p99_latency > 50ms for 5m')).toEqual({
      metric: 'p99_latency',
      op: '>',
      threshold: 50,
      forMs: 300_000,
    });
    expect(parseAlertCondition('p99_latency>0.05s').threshold).toBe(50);
    expect(parseAlertCondition('drift:origin < 0.05').metric).toBe('drift:origin');
  });

  it('names what is wrong', () => {
    expect(() => parseAlertCondition('aucc < 0.8')).toThrow(
      /unknown metric 'aucc'; expected one of drift_share/,
    );
    expect(() => parseAlertCondition('auc < 80ms')).toThrow(/unit 'ms' applies to latency metrics only/);
    expect(() => parseAlertCondition('auc ~ 1')).toThrow(/expected 'METRIC OP THRESHOLD/);
  });

  it('fires once, stays firing without repeating, resolves once, and ignores missing data', () => {
    const rule = parseAlertCondition('auc < 0.8');
    let s = stepAlert({ state: 'ok', since: 0 }, rule, 0.9, 1);
    expect(s).toEqual({ state: 'ok', since: 0 });
    s = stepAlert(s, rule, 0.7, 2);
    expect(s).toEqual({ state: 'firing', since: 2, notify: 'firing' });
    s = stepAlert(s, rule, 0.6, 3);
    expect(s).toEqual({ state: 'firing', since: 2 });
    s = stepAlert(s, rule, undefined, 4);
    expect(s).toEqual({ state: 'firing', since: 2 });
    s = stepAlert(s, rule, 0.85, 5);
    expect(s).toEqual({ state: 'resolved', since: 5, notify: 'resolved' });
    s = stepAlert(s, rule, 0.85, 6);
    expect(s).toEqual({ state: 'ok', since: 6 });
  });

  it('waits out `for` in pending, and a clean run in between resets it', () => {
    const rule = parseAlertCondition('drift_share >= 0.5 for 10s');
    let s = stepAlert({ state: 'ok', since: 0 }, rule, 0.6, 1000);
    expect(s.state).toBe('pending');
    s = stepAlert(s, rule, 0.6, 6000);
    expect(s).toEqual({ state: 'pending', since: 1000 });
    s = stepAlert(s, rule, 0.1, 8000);
    expect(s.state).toBe('ok');
    s = stepAlert(s, rule, 0.7, 9000);
    s = stepAlert(s, rule, 0.7, 19_000);
    expect(s).toEqual({ state: 'firing', since: 19_000, notify: 'firing' });
  });
});
