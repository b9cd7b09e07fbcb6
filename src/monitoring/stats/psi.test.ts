import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { populationStabilityIndex } from './psi.js';

interface Fixture {
  psi: { name: string; referenceProportions: number[]; currentProportions: number[]; psi: number }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/drift-expected.json', import.meta.url), 'utf8'),
) as Fixture;

describe('populationStabilityIndex', () => {
  it.each(fixture.psi)('equals the plain numpy PSI with 1e-4 for empty bins: $name', (c) => {
    const actual = populationStabilityIndex(c.referenceProportions, c.currentProportions);
    expect(Math.abs(actual - c.psi)).toBeLessThanOrEqual(1e-6 * Math.max(1, c.psi));
  });

  it('is 0 for identical proportions, including a single bin', () => {
    expect(populationStabilityIndex([0.3, 0.7], [0.3, 0.7])).toBe(0);
    expect(populationStabilityIndex([1], [1])).toBe(0);
  });

  it('uses the given epsilon for empty bins', () => {
    const psi = populationStabilityIndex([1, 0], [0.5, 0.5], { epsilon: 0.01 });
    expect(psi).toBeCloseTo(0.5 * Math.log(1 / 0.5) + (0.01 - 0.5) * Math.log(0.01 / 0.5), 12);
  });

  it('rejects empty, mismatched and out-of-range inputs', () => {
    expect(() => populationStabilityIndex([], [])).toThrow(/no bins/);
    expect(() => populationStabilityIndex([1], [0.5, 0.5])).toThrow(/expected equal/);
    expect(() => populationStabilityIndex([1.5], [1])).toThrow(/within \[0, 1\]/);
  });
});
