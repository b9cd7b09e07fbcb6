import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wassersteinDistance, wassersteinNormed } from './wasserstein.js';

interface Fixture {
  wasserstein: { name: string; reference: number[]; current: number[]; distance: number; normed: number }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/drift-expected.json', import.meta.url), 'utf8'),
) as Fixture;

/** Absolute 1e-6 up to 1, relative 1e-6 above. */
const close = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
};

describe('wassersteinDistance', () => {
  it.each(fixture.wasserstein)(
    'equals scipy wasserstein_distance and the Evidently-normed value: $name',
    (c) => {
      close(wassersteinDistance(c.reference, c.current), c.distance);
      close(wassersteinNormed(c.reference, c.current), c.normed);
    },
  );

  it('is 0 for identical constant columns and the gap for single values', () => {
    expect(wassersteinDistance([4, 4, 4], [4])).toBe(0);
    expect(wassersteinDistance([1], [3.5])).toBe(2.5);
    // A constant reference divides by Evidently's 0.001 floor instead of 0.
    expect(wassersteinNormed([2, 2], [2.001])).toBeCloseTo(1, 9);
  });

  it('rejects empty and non-finite samples', () => {
    expect(() => wassersteinDistance([], [1])).toThrow(/reference sample is empty/);
    expect(() => wassersteinNormed([1], [])).toThrow(/current sample is empty/);
    expect(() => wassersteinDistance([1], [Number.POSITIVE_INFINITY])).toThrow(/finite/);
  });
});
