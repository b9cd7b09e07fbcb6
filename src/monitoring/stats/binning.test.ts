import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { binCounts, binProportions, quantileBins } from './binning.js';
import { jensenShannonDistance } from './jensen-shannon.js';
import { populationStabilityIndex } from './psi.js';

interface Fixture {
  binned: {
    name: string;
    reference: number[];
    current: number[];
    binCount: number;
    edges: number[];
    referenceCounts: number[];
    currentCounts: number[];
    psi: number;
    jensenShannon: number;
  }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/drift-expected.json', import.meta.url), 'utf8'),
) as Fixture;

describe('quantile binning', () => {
  it.each(fixture.binned)('matches numpy quantile edges, counts, PSI and JS: $name', (c) => {
    const binned = binProportions(c.reference, c.current, { binCount: c.binCount });
    expect(binned.bins.edges.length).toBe(c.edges.length);
    binned.bins.edges.forEach((e, i) => {
      expect(Math.abs(e - c.edges[i]!)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(c.edges[i]!)));
    });
    expect(binned.referenceCounts).toEqual(c.referenceCounts);
    expect(binned.currentCounts).toEqual(c.currentCounts);
    const psi = populationStabilityIndex(binned.referenceProportions, binned.currentProportions);
    expect(Math.abs(psi - c.psi)).toBeLessThanOrEqual(1e-6 * Math.max(1, c.psi));
    const js = jensenShannonDistance(binned.referenceProportions, binned.currentProportions);
    expect(Math.abs(js - c.jensenShannon)).toBeLessThanOrEqual(1e-6);
  });

  it('gives each reference bin about equal mass and smoothed proportions that sum to 1', () => {
    const reference = Array.from({ length: 1000 }, (_, i) => Math.exp(i / 100));
    const binned = binProportions(reference, [0, 1e9], { binCount: 10 });
    for (const count of binned.referenceCounts) expect(count).toBe(100);
    const sum = binned.currentProportions.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 12);
    expect(Math.min(...binned.currentProportions)).toBeGreaterThan(0);
  });

  it('collapses a constant reference into two bins', () => {
    const bins = quantileBins([7, 7, 7, 7]);
    expect(bins.edges).toEqual([7]);
    expect(binCounts([6, 7, 8], bins)).toEqual([1, 2]);
  });

  it('handles a single reference value and rejects bad input', () => {
    expect(quantileBins([3]).edges).toEqual([3]);
    expect(() => quantileBins([])).toThrow(/reference sample is empty/);
    expect(() => quantileBins([1, 2], 1)).toThrow(/binCount is 1/);
    expect(() => binProportions([1, 2], [])).toThrow(/current sample is empty/);
  });
});
