import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jensenShannonDistance } from './jensen-shannon.js';

interface Fixture {
  jensenShannon: { name: string; p: number[]; q: number[]; distance: number; distanceBase2: number }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/drift-expected.json', import.meta.url), 'utf8'),
) as Fixture;

describe('jensenShannonDistance', () => {
  it.each(fixture.jensenShannon)('equals scipy jensenshannon (natural log and base 2): $name', (c) => {
    // Distances lie in [0, 1]: absolute tolerance 1e-6.
    expect(Math.abs(jensenShannonDistance(c.p, c.q) - c.distance)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(jensenShannonDistance(c.p, c.q, { base: 2 }) - c.distanceBase2)).toBeLessThanOrEqual(
      1e-6,
    );
  });

  it('is 1 in base 2 for disjoint histograms and 0 for a single bin', () => {
    expect(jensenShannonDistance([1, 0], [0, 1], { base: 2 })).toBeCloseTo(1, 12);
    expect(jensenShannonDistance([5], [2])).toBe(0);
  });

  it('rejects empty, mismatched and massless histograms', () => {
    expect(() => jensenShannonDistance([], [])).toThrow(/empty/);
    expect(() => jensenShannonDistance([1], [1, 2])).toThrow(/1 and 2 bins/);
    expect(() => jensenShannonDistance([0, 0], [1, 2])).toThrow(/sums to 0/);
    expect(() => jensenShannonDistance([-1, 2], [1, 2])).toThrow(/non-negative/);
  });
});
