import { describe, expect, it } from 'vitest';
import { defaultDriftTest, detectDatasetDrift, detectFeatureDrift, type FeatureSamples } from './drift.js';
import { ksTwoSample } from './ks-test.js';
import { wassersteinNormed } from './wasserstein.js';

/** Deterministic standard-normal-ish values via Box–Muller on a linear congruential generator. */
function normals(n: number, seed: number, shift = 0): number[] {
  let s = seed;
  const uniform = (): number => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return (s + 0.5) / 4294967296;
  };
  return Array.from(
    { length: n },
    () => shift + Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
  );
}

const numeric = (name: string, reference: number[], current: number[]): FeatureSamples => ({
  name,
  kind: 'numeric',
  reference,
  current,
});
const categorical = (name: string, reference: string[], current: string[]): FeatureSamples => ({
  name,
  kind: 'categorical',
  reference,
  current,
});
const repeat = (counts: Record<string, number>): string[] =>
  Object.entries(counts).flatMap(([k, n]) => Array.from({ length: n }, () => k));

describe('defaultDriftTest (Evidently defaults)', () => {
  it('picks KS / chi-square up to 1000 reference rows and Wasserstein / JS above', () => {
    expect(defaultDriftTest(numeric('x', normals(1000, 1), normals(10, 2)))).toBe('ks');
    expect(defaultDriftTest(numeric('x', normals(1001, 1), normals(10, 2)))).toBe('wasserstein');
    expect(defaultDriftTest(categorical('c', repeat({ a: 1000 }), ['a']))).toBe('chisquare');
    expect(defaultDriftTest(categorical('c', repeat({ a: 1001 }), ['a']))).toBe('jensenshannon');
  });

  it('treats numeric features with at most 5 distinct values as categorical', () => {
    const small = numeric('x', [1, 2, 3, 4, 5, 1], [2, 3]);
    expect(defaultDriftTest(small)).toBe('chisquare');
    expect(
      defaultDriftTest(
        numeric(
          'x',
          Array.from({ length: 2000 }, (_, i) => i % 3),
          [0],
        ),
      ),
    ).toBe('jensenshannon');
  });
});

describe('detectFeatureDrift', () => {
  it('flags KS drift when p < 0.05 and reports the KS p-value', () => {
    const reference = normals(500, 3);
    const current = normals(400, 4, 0.5);
    const result = detectFeatureDrift(numeric('x', reference, current));
    expect(result).toMatchObject({ test: 'ks', threshold: 0.05, drifted: true });
    expect(result.score).toBe(ksTwoSample(reference, current).pValue);
    expect(detectFeatureDrift(numeric('x', reference, normals(400, 5))).drifted).toBe(false);
  });

  it('flags normed-Wasserstein drift at >= 0.1 for large references', () => {
    const reference = normals(2000, 6);
    const shifted = normals(2000, 7, 0.3);
    const result = detectFeatureDrift(numeric('x', reference, shifted));
    expect(result).toMatchObject({ test: 'wasserstein', threshold: 0.1, drifted: true });
    expect(result.score).toBe(wassersteinNormed(reference, shifted));
    expect(detectFeatureDrift(numeric('x', reference, normals(2000, 8))).drifted).toBe(false);
  });

  it('uses chi-square and JS for categoricals, and a new category drifts', () => {
    const reference = repeat({ a: 500, b: 300, c: 200 });
    expect(detectFeatureDrift(categorical('c', reference, repeat({ a: 50, b: 30, c: 20 }))).drifted).toBe(
      false,
    );
    expect(detectFeatureDrift(categorical('c', reference, repeat({ a: 50, b: 30, z: 20 }))).score).toBe(0);
    const big = repeat({ a: 1500, b: 500 });
    const js = detectFeatureDrift(categorical('c', big, repeat({ a: 100, b: 100 })));
    expect(js).toMatchObject({ test: 'jensenshannon', drifted: true });
    expect(js.score).toBeGreaterThan(0.1);
    expect(js.score).toBeLessThanOrEqual(1);
  });

  it('honours test and threshold overrides', () => {
    const reference = normals(300, 9);
    const current = normals(300, 10, 0.2);
    const psi = detectFeatureDrift(numeric('x', reference, current), { test: 'psi', threshold: 0.01 });
    expect(psi.test).toBe('psi');
    expect(psi.threshold).toBe(0.01);
    expect(psi.drifted).toBe(psi.score >= 0.01);
    const strict = detectFeatureDrift(numeric('x', reference, current), { threshold: 1e-12 });
    expect(strict).toMatchObject({ test: 'ks', threshold: 1e-12, drifted: false });
  });

  it('does not drift on identical constant columns', () => {
    expect(detectFeatureDrift(numeric('x', [1, 1, 1], [1, 1])).drifted).toBe(false);
    expect(detectFeatureDrift(categorical('c', ['a', 'a'], ['a'])).drifted).toBe(false);
    expect(detectFeatureDrift(numeric('x', [5], [5]), { test: 'wasserstein' }).score).toBe(0);
  });

  it('rejects empty samples and numeric-only tests on categoricals', () => {
    expect(() => detectFeatureDrift(numeric('x', [], [1]))).toThrow(/feature 'x' has 0 reference/);
    expect(() => detectFeatureDrift(categorical('c', ['a'], ['b']), { test: 'ks' })).toThrow(
      /categorical feature 'c'/,
    );
  });
});

describe('detectDatasetDrift', () => {
  const reference = normals(300, 11);
  const stable = normals(300, 12);
  const shifted = normals(300, 13, 1);

  it('declares dataset drift when at least half of the features drift', () => {
    const result = detectDatasetDrift([numeric('a', reference, shifted), numeric('b', reference, stable)]);
    expect(result).toMatchObject({ driftedCount: 1, driftedShare: 0.5, datasetDrift: true });
    const calm = detectDatasetDrift([
      numeric('a', reference, shifted),
      numeric('b', reference, stable),
      numeric('c', reference, normals(300, 14)),
    ]);
    expect(calm.datasetDrift).toBe(false);
  });

  it('applies per-feature overrides and a custom share', () => {
    const result = detectDatasetDrift([numeric('a', reference, shifted), numeric('b', reference, stable)], {
      driftShare: 0.9,
      overrides: { b: { threshold: 1.01 } },
    });
    expect(result.driftedCount).toBe(2);
    expect(result.datasetDrift).toBe(true);
    expect(() => detectDatasetDrift([])).toThrow(/no features/);
    expect(() => detectDatasetDrift([numeric('a', [1], [1])], { driftShare: 0 })).toThrow(/driftShare is 0/);
  });
});
