import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/random.js';
import {
  type ColumnProfile,
  mergeProfiles,
  type NumericProfile,
  profileColumn,
  profileDrift,
  profileQuantile,
  profileStd,
  referenceBins,
} from './profile.js';
import { binProportions } from './stats/binning.js';
import { ksTwoSample } from './stats/ks-test.js';
import { populationStabilityIndex } from './stats/psi.js';
import { wassersteinNormed } from './stats/wasserstein.js';

const normal = (random: () => number, mean: number, std: number) => () => {
  const u = Math.max(random(), 1e-12);
  return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
};

const sample = (n: number, next: () => number) => Array.from({ length: n }, next);
const windows = <T>(values: T[], parts: number): T[][] =>
  Array.from({ length: parts }, (_, i) =>
    values.slice((i * values.length) / parts, ((i + 1) * values.length) / parts),
  );

describe('mergeable profiles', () => {
  const random = seededRandom(7);
  const reference = sample(5000, normal(random, 10, 2));
  const bins = referenceBins(reference);

  it('merging window profiles gives the profile of the union', () => {
    const current: (number | null)[] = sample(9000, normal(random, 11, 3));
    current[17] = null;
    current[4000] = Number.NaN;
    const union = profileColumn(current, bins) as NumericProfile;
    const merged = windows(current, 3)
      .map((w) => profileColumn(w, bins))
      .reduce((a, b) => mergeProfiles(a, b)) as NumericProfile;
    expect(merged.count).toBe(union.count);
    expect(merged.missing).toBe(2);
    expect(merged.min).toBe(union.min);
    expect(merged.max).toBe(union.max);
    expect(merged.mean).toBeCloseTo(union.mean, 9);
    expect(profileStd(merged)).toBeCloseTo(profileStd(union), 9);
    expect(merged.bins).toEqual(union.bins);
    for (const q of [0.01, 0.25, 0.5, 0.75, 0.99])
      expect(profileQuantile(merged, q)).toBe(profileQuantile(union, q));
    const exactMedian = [...(current.filter((v) => v !== null && !Number.isNaN(v)) as number[])].sort(
      (a, b) => a - b,
    )[4498] as number;
    expect(Math.abs(profileQuantile(merged, 0.5) - exactMedian)).toBeLessThanOrEqual(
      0.01 * Math.abs(exactMedian) + 1e-9,
    );
  });

  it('merges categorical counts exactly', () => {
    const cities = ['SEA', 'SFO', 'JFK', 'ORD'];
    const values = Array.from({ length: 3000 }, (_, i) =>
      i % 97 === 0 ? null : cities[Math.floor(random() * 4)],
    );
    const merged = windows(values, 4)
      .map((w) => profileColumn(w))
      .reduce((a, b) => mergeProfiles(a, b));
    expect(merged).toEqual(profileColumn(values));
  });

  it('gives the same drift verdicts from merged window profiles as from the union of rows, for every test', () => {
    const referenceProfile = profileColumn(reference, bins);
    for (const [shift, expected] of [
      [0, false],
      [1.5, true],
    ] as const) {
      const current = sample(6000, normal(random, 10 + shift, 2));
      for (const test of ['ks', 'wasserstein', 'psi', 'jensenshannon'] as const) {
        const fromUnion = profileDrift(referenceProfile, profileColumn(current, bins), { test });
        const fromWindows = profileDrift(
          referenceProfile,
          windows(current, 6)
            .map((w) => profileColumn(w, bins))
            .reduce((a, b) => mergeProfiles(a, b)),
          { test },
        );
        expect(fromWindows, test).toEqual(fromUnion);
        expect(fromUnion.drifted, `${test} at shift ${shift}`).toBe(expected);
      }
      // Against the raw rows: PSI exactly; the sketch-based distances within the sketch's 1 % resolution.
      const raw = binProportions(reference, current, { binCount: 10, pseudoCount: 0.5 });
      expect(profileDrift(referenceProfile, profileColumn(current, bins), { test: 'psi' }).value).toBeCloseTo(
        populationStabilityIndex(raw.referenceProportions, raw.currentProportions),
        12,
      );
      const wasserstein = profileDrift(referenceProfile, profileColumn(current, bins)).value;
      expect(Math.abs(wasserstein - wassersteinNormed(reference, current))).toBeLessThan(0.02);
      const exactKs = ksTwoSample(reference, current);
      const sketchKs = profileDrift(referenceProfile, profileColumn(current, bins), { test: 'ks' });
      expect(sketchKs.value < 0.05).toBe(exactKs.pValue < 0.05);
    }
    const referenceCities = profileColumn(Array.from({ length: 800 }, (_, i) => ['a', 'b', 'c'][i % 3]));
    const same = profileColumn(Array.from({ length: 900 }, (_, i) => ['a', 'b', 'c'][i % 3]));
    const skewed = profileColumn(Array.from({ length: 900 }, (_, i) => (i % 5 === 0 ? 'b' : 'a')));
    expect(profileDrift(referenceCities, same)).toMatchObject({ test: 'chisquare', drifted: false });
    expect(profileDrift(referenceCities, skewed)).toMatchObject({ test: 'chisquare', drifted: true });
    expect(profileDrift(referenceCities, skewed, { test: 'jensenshannon' })).toMatchObject({ drifted: true });
  });

  it('defaults to KS on small references and normed Wasserstein on large ones (Evidently)', () => {
    const small = sample(800, normal(random, 0, 1));
    const smallBins = referenceBins(small);
    expect(
      profileDrift(profileColumn(small, smallBins), profileColumn(sample(500, normal(random, 0, 1)))).test,
    ).toBe('ks');
    expect(profileDrift(profileColumn(reference, bins), profileColumn([10, 11])).test).toBe('wasserstein');
  });

  it('counts type mismatches and out-of-range values against the reference spec', () => {
    const p = profileColumn([1, 'x', 50, null, 3], {
      kind: 'numeric',
      range: { min: 0, max: 10 },
    }) as NumericProfile;
    expect(p).toMatchObject({ count: 3, missing: 1, invalid: 1, outOfRange: 1, min: 1, max: 50 });
    const q = profileColumn([2, 20], { kind: 'numeric', range: { min: 0, max: 10 } }) as NumericProfile;
    expect(mergeProfiles(p, q)).toMatchObject({ count: 5, invalid: 1, outOfRange: 2 });
    expect(profileColumn([1, 2], { kind: 'categorical' })).toEqual({
      kind: 'categorical',
      count: 2,
      missing: 0,
      counts: { 1: 1, 2: 1 },
    });
  });

  it('refuses to merge or compare profiles of different kinds or bins', () => {
    const numeric = profileColumn([1, 2, 3], bins);
    const categorical: ColumnProfile = profileColumn(['x']);
    expect(() => mergeProfiles(numeric, categorical)).toThrow(
      /cannot merge a numeric profile with a categorical/,
    );
    expect(() => mergeProfiles(numeric, profileColumn([1, 2, 3], referenceBins([5, 6, 7, 8])))).toThrow(
      /different edges/,
    );
    expect(() => profileDrift(numeric, categorical)).toThrow(/numeric but current is categorical/);
    expect(() => profileDrift(profileColumn([1, 2]), profileColumn([1, 2]), { test: 'psi' })).toThrow(
      /binned/,
    );
    expect(() => profileDrift(profileColumn([1, 2]), profileColumn([]))).toThrow(/current window 0/);
    expect(() => profileDrift(categorical, profileColumn(['y']), { test: 'ks' })).toThrow(
      /numeric columns only/,
    );
  });
});
