import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chiSquareCategorical, chiSquareContingency, chiSquareGoodnessOfFit } from './chi-square.js';

interface Fixture {
  chisquare: {
    name: string;
    referenceCounts: Record<string, number>;
    currentCounts: Record<string, number>;
    statistic: number;
    pValue: number;
  }[];
  chi2Contingency: {
    name: string;
    table: number[][];
    statistic: number;
    pValue: number;
    degreesOfFreedom: number;
  }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/drift-expected.json', import.meta.url), 'utf8'),
) as Fixture;

/** Absolute 1e-6 up to 1, relative 1e-6 above (statistics can be large). */
const close = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
};

describe('chiSquareCategorical', () => {
  it.each(fixture.chisquare)('equals scipy chisquare(cur, ref scaled): $name', (c) => {
    const result = chiSquareCategorical(
      new Map(Object.entries(c.referenceCounts)),
      new Map(Object.entries(c.currentCounts)),
    );
    close(result.statistic, c.statistic);
    close(result.pValue, c.pValue);
    expect(Math.abs(result.pValue / c.pValue - 1)).toBeLessThan(1e-9);
  });

  it('flags a category unseen in the reference with p = 0, as scipy does', () => {
    const result = chiSquareCategorical(
      new Map([['a', 10]]),
      new Map([
        ['a', 5],
        ['new', 5],
      ]),
    );
    expect(result.statistic).toBe(Number.POSITIVE_INFINITY);
    expect(result.pValue).toBe(0);
  });

  it('rejects empty sides', () => {
    expect(() => chiSquareCategorical(new Map(), new Map([['a', 1]]))).toThrow(/reference counts sum to 0/);
    expect(() => chiSquareGoodnessOfFit([], [])).toThrow(/empty/);
    expect(() => chiSquareGoodnessOfFit([1, 2], [1])).toThrow(/equal lengths/);
  });
});

describe('chiSquareContingency', () => {
  it.each(fixture.chi2Contingency)('equals scipy chi2_contingency: $name', (c) => {
    const result = chiSquareContingency(c.table);
    close(result.statistic, c.statistic);
    close(result.pValue, c.pValue);
    expect(result.degreesOfFreedom).toBe(c.degreesOfFreedom);
  });

  it('returns statistic 0, p = 1 when there are no degrees of freedom', () => {
    expect(chiSquareContingency([[4, 6]])).toEqual({ statistic: 0, pValue: 1, degreesOfFreedom: 0 });
  });

  it('rejects zero margins and ragged tables', () => {
    expect(() =>
      chiSquareContingency([
        [0, 0],
        [1, 2],
      ]),
    ).toThrow(/sums to 0/);
    expect(() => chiSquareContingency([[1, 2], [3]])).toThrow(/row 1 has 1 cells/);
    expect(() => chiSquareContingency([])).toThrow(/empty/);
  });
});
