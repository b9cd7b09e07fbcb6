import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSlipwayError } from '../../core/errors.js';
import { kolmogorovSf, ksTwoSample } from './ks-test.js';

interface Fixture {
  ks: { name: string; reference: number[]; current: number[]; statistic: number; pValue: number }[];
  kolmogorov: { n: number; x: number; sf: number }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/drift-expected.json', import.meta.url), 'utf8'),
) as Fixture;

/** Absolute 1e-6 for values up to 1 (all p-values and KS statistics), relative 1e-6 above. */
const close = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
};

describe('ksTwoSample', () => {
  it.each(fixture.ks)('equals scipy ks_2samp: $name', (c) => {
    const result = ksTwoSample(c.reference, c.current);
    close(result.statistic, c.statistic);
    close(result.pValue, c.pValue);
    // Small p-values must match in relative terms too, not just be near zero.
    if (c.pValue > 0) expect(Math.abs(result.pValue / c.pValue - 1)).toBeLessThan(1e-9);
    expect(result.method).toBe(Math.max(c.reference.length, c.current.length) <= 10_000 ? 'exact' : 'asymp');
  });

  it('is symmetric in its arguments', () => {
    const [c] = fixture.ks;
    const forward = ksTwoSample(c!.reference, c!.current);
    const backward = ksTwoSample(c!.current, c!.reference);
    expect(backward.statistic).toBe(forward.statistic);
    expect(backward.pValue).toBeCloseTo(forward.pValue, 12);
  });

  it('rejects empty and non-finite samples with a clear error', () => {
    expect(() => ksTwoSample([], [1])).toThrow(/reference sample is empty/);
    expect(() => ksTwoSample([1], [])).toThrow(/current sample is empty/);
    expect(() => ksTwoSample([1, Number.NaN], [1])).toThrow(/expected finite numbers/);
    try {
      ksTwoSample([], [1]);
    } catch (error) {
      expect(isSlipwayError(error) && error.code === 'INVALID_PARAMETER_VALUE').toBe(true);
    }
  });

  it('gives D = 0, p = 1 for constant columns with the same value, D = 1 for disjoint constants', () => {
    expect(ksTwoSample([3, 3, 3], [3, 3])).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
    expect(ksTwoSample([1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2]).statistic).toBe(1);
  });
});

describe('kolmogorovSf', () => {
  it.each(fixture.kolmogorov)('equals scipy kstwo.sf at n=$n, x=$x', (c) => {
    close(kolmogorovSf(c.n, c.x), c.sf);
  });
});
