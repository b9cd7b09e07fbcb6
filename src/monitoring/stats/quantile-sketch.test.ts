import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test/support/random.js';
import {
  addToSketch,
  createSketch,
  mergeSketches,
  parseSketch,
  sketchOf,
  sketchQuantile,
} from './quantile-sketch.js';

function sample(n: number, seed: number): number[] {
  const next = seededRandom(seed);
  // Skewed and two-signed: a log-normal-ish body with a negative tail.
  return Array.from({ length: n }, () => Math.exp(4 * next() - 1) * (next() < 0.2 ? -1 : 1));
}

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];
const ALPHA = 0.01;

function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

describe('quantile sketch', () => {
  const left = sample(5000, 1);
  const right = sample(3000, 2).map((x) => x * 3 + 1);
  const union = [...left, ...right];

  it('answers every quantile within alpha relative error of the exact lower quantile', () => {
    const sketch = sketchOf(union, { alpha: ALPHA });
    for (const q of QS) {
      const exact = exactQuantile(union, q);
      expect(Math.abs(sketchQuantile(sketch, q) - exact)).toBeLessThanOrEqual(
        ALPHA * Math.abs(exact) + 1e-12,
      );
    }
  });

  it('merging sketches of two halves gives the sketch of the union', () => {
    const merged = mergeSketches(sketchOf(left, { alpha: ALPHA }), sketchOf(right, { alpha: ALPHA }));
    const whole = sketchOf(union, { alpha: ALPHA });
    for (const q of QS) {
      const exact = exactQuantile(union, q);
      const fromMerge = sketchQuantile(merged, q);
      expect(Math.abs(fromMerge - exact)).toBeLessThanOrEqual(ALPHA * Math.abs(exact) + 1e-12);
      expect(fromMerge).toBe(sketchQuantile(whole, q));
    }
    expect(merged.count).toBe(union.length);
    expect(mergeSketches(sketchOf(right, { alpha: ALPHA }), sketchOf(left, { alpha: ALPHA }))).toEqual(
      merged,
    );
  });

  it('round-trips through JSON, including an empty sketch', () => {
    const sketch = addToSketch(createSketch(), [0, -2, 5, 1e-12]);
    const back = parseSketch(JSON.stringify(sketch));
    expect(back).toEqual(sketch);
    for (const q of QS) expect(sketchQuantile(back, q)).toBe(sketchQuantile(sketch, q));
    const empty = parseSketch(JSON.stringify(createSketch()));
    expect(mergeSketches(empty, sketch)).toEqual(sketch);
  });

  it('is exact for constant columns and single values', () => {
    const constant = sketchOf(Array.from({ length: 100 }, () => 42));
    for (const q of QS) expect(sketchQuantile(constant, q)).toBe(42);
    expect(sketchQuantile(sketchOf([-3.5]), 0.5)).toBe(-3.5);
  });

  it('rejects empty sketches, bad quantiles, mismatched merges and non-finite values', () => {
    expect(() => sketchQuantile(createSketch(), 0.5)).toThrow(/no values/);
    expect(() => sketchQuantile(sketchOf([1]), 1.5)).toThrow(/expected within \[0, 1\]/);
    expect(() => mergeSketches(createSketch({ alpha: 0.01 }), createSketch({ alpha: 0.02 }))).toThrow(
      /differ/,
    );
    expect(() => sketchOf([Number.NaN])).toThrow(/finite/);
    expect(() => createSketch({ alpha: 1 })).toThrow(/alpha is 1/);
    expect(() => parseSketch('{"alpha":0.01}')).toThrow(/count is undefined/);
  });
});
