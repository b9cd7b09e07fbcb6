import { invalidParameter } from '../core/errors.js';
import { binCounts, type QuantileBins, quantileBins } from './stats/binning.js';
import { chiSquareCategorical } from './stats/chi-square.js';
import { jensenShannonDistance } from './stats/jensen-shannon.js';
import { kolmogorovSf } from './stats/ks-test.js';
import { populationStabilityIndex } from './stats/psi.js';
import {
  addToSketch,
  createSketch,
  mergeSketches,
  type QuantileSketch,
  sketchPoints,
  sketchQuantile,
} from './stats/quantile-sketch.js';
import { WASSERSTEIN_MIN_NORM } from './stats/wasserstein.js';

/**
 * Mergeable column profiles (whylogs' idea): every field merges exactly, so the profile of a window, of a replica
 * or of a whole month is the merge of smaller ones, and monitoring never needs all raw rows in one place.
 * Numeric columns keep count/missing/min/max, mean and M2 (Chan et al.'s parallel update), a quantile sketch
 * (relative error ≤ its alpha, default 1 %), and counts over the reference's quantile bins when bins are given.
 */
export interface NumericProfile {
  kind: 'numeric';
  count: number;
  missing: number;
  /** Present values that were not finite numbers (a type mismatch against a numeric column). */
  invalid?: number;
  /** Values outside the reference's [min, max], when profiled against a reference. */
  outOfRange?: number;
  min: number;
  max: number;
  mean: number;
  /** Sum of squared deviations from the mean. */
  m2: number;
  sketch: QuantileSketch;
  /** Counts over fixed bins (the reference's), so drift can be computed from merged profiles. */
  bins?: { edges: number[]; counts: number[] };
}

export interface CategoricalProfile {
  kind: 'categorical';
  count: number;
  missing: number;
  counts: Record<string, number>;
}

export type ColumnProfile = NumericProfile | CategoricalProfile;

/** How to profile a column: its kind, and for numeric columns the reference's bins and range. */
export interface ColumnSpec {
  kind: 'numeric' | 'categorical';
  bins?: QuantileBins;
  range?: { min: number; max: number };
}

const isMissing = (value: unknown): boolean =>
  value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value));

/**
 * Profiles one column. Without a spec a column is numeric when every present value is a finite number; with one
 * the kind is fixed (the reference's), numeric columns count non-numbers as `invalid`, values outside `range` as
 * `outOfRange`, and fill `bins` counts. Passing bins alone means a numeric column binned on them.
 */
export function profileColumn(values: readonly unknown[], spec?: ColumnSpec | QuantileBins): ColumnProfile {
  const columnSpec: ColumnSpec | undefined =
    spec === undefined || 'kind' in spec ? spec : { kind: 'numeric', bins: spec };
  const present = values.filter((v) => !isMissing(v));
  const missing = values.length - present.length;
  const allNumbers = present.every((v) => typeof v === 'number' && Number.isFinite(v));
  const kind = columnSpec?.kind ?? (allNumbers ? 'numeric' : 'categorical');
  if (kind === 'numeric') {
    const numbers = allNumbers
      ? (present as number[])
      : (present.filter((v) => typeof v === 'number' && Number.isFinite(v)) as number[]);
    let mean = 0;
    let m2 = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let outOfRange = 0;
    const range = columnSpec?.range;
    for (let i = 0; i < numbers.length; i++) {
      const x = numbers[i] as number;
      const delta = x - mean;
      mean += delta / (i + 1);
      m2 += delta * (x - mean);
      if (x < min) min = x;
      if (x > max) max = x;
      if (range !== undefined && (x < range.min || x > range.max)) outOfRange++;
    }
    const profile: NumericProfile = {
      kind: 'numeric',
      count: numbers.length,
      missing,
      min,
      max,
      mean,
      m2,
      sketch: addToSketch(createSketch(), numbers),
    };
    if (present.length !== numbers.length) profile.invalid = present.length - numbers.length;
    if (range !== undefined) profile.outOfRange = outOfRange;
    if (columnSpec?.bins !== undefined)
      profile.bins = { edges: [...columnSpec.bins.edges], counts: binCounts(numbers, columnSpec.bins) };
    return profile;
  }
  const counts: Record<string, number> = {};
  for (const v of present) {
    const key = String(v);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return { kind: 'categorical', count: present.length, missing, counts };
}

/** The profile of the union of the two profiled samples. */
export function mergeProfiles(
  a: ColumnProfile,
  b: ColumnProfile,
  options: { dropMismatchedBins?: boolean } = {},
): ColumnProfile {
  if (a.kind !== b.kind) throw invalidParameter(`cannot merge a ${a.kind} profile with a ${b.kind} one`);
  if (a.kind === 'categorical' && b.kind === 'categorical') {
    const counts = { ...a.counts };
    for (const [key, n] of Object.entries(b.counts)) counts[key] = (counts[key] ?? 0) + n;
    return { kind: 'categorical', count: a.count + b.count, missing: a.missing + b.missing, counts };
  }
  const x = a as NumericProfile;
  const y = b as NumericProfile;
  const count = x.count + y.count;
  const delta = y.mean - x.mean;
  const merged: NumericProfile = {
    kind: 'numeric',
    count,
    missing: x.missing + y.missing,
    ...((x.invalid ?? 0) + (y.invalid ?? 0) > 0 && { invalid: (x.invalid ?? 0) + (y.invalid ?? 0) }),
    ...((x.outOfRange !== undefined || y.outOfRange !== undefined) && {
      outOfRange: (x.outOfRange ?? 0) + (y.outOfRange ?? 0),
    }),
    min: Math.min(x.min, y.min),
    max: Math.max(x.max, y.max),
    mean: count === 0 ? 0 : x.mean + (delta * y.count) / count,
    m2: count === 0 ? 0 : x.m2 + y.m2 + (delta * delta * x.count * y.count) / count,
    sketch: mergeSketches(x.sketch, y.sketch),
  };
  if (x.bins !== undefined || y.bins !== undefined) {
    if (x.bins === undefined || y.bins === undefined || x.bins.edges.join() !== y.bins.edges.join()) {
      // Windows profiled against different references (a version change): the exact parts still merge, and
      // the sketch-based tests still apply; bin counts do not.
      if (options.dropMismatchedBins === true) return merged;
      throw invalidParameter('cannot merge profiles binned on different edges');
    }
    merged.bins = { edges: x.bins.edges, counts: x.bins.counts.map((n, i) => n + (y.bins?.counts[i] ?? 0)) };
  }
  return merged;
}

/** Population standard deviation of a numeric profile. */
export const profileStd = (p: NumericProfile): number =>
  p.count === 0 ? Number.NaN : Math.sqrt(p.m2 / p.count);

/** A quantile from the profile's sketch (relative error at most the sketch's alpha). */
export const profileQuantile = (p: NumericProfile, q: number): number => sketchQuantile(p.sketch, q);

/** Reference bins for a numeric column: its deciles, as used by every later window's profile. */
export const referenceBins = (values: readonly number[]): QuantileBins => quantileBins(values, 10);

export type ProfileDriftTest = 'ks' | 'wasserstein' | 'psi' | 'jensenshannon' | 'chisquare';

export interface ProfileDrift {
  test: ProfileDriftTest;
  /** p-value for 'ks' and 'chisquare'; a distance or index for the others. */
  value: number;
  threshold: number;
  drifted: boolean;
}

const P_VALUE_TESTS: ReadonlySet<ProfileDriftTest> = new Set(['ks', 'chisquare']);

/**
 * Drift between a reference and a current profile, computed from mergeable state only, so the merge of window
 * or replica profiles gives exactly the verdict of the union's profile. Defaults are Evidently's: with at most
 * 1000 reference values KS (p < 0.05) for numeric and chi-square (p < 0.05) for categorical columns, above that
 * normed Wasserstein (>= 0.1) and Jensen–Shannon (>= 0.1, natural log). Any test may be chosen, with its threshold:
 * - `ks`, `wasserstein`: on the quantile sketches, every value within the sketch's alpha (1 %) of itself; the
 *   KS p-value is the asymptotic two-sided one for the real sample sizes, Wasserstein is normed by the
 *   reference's exact standard deviation (at least 0.001, as Evidently).
 * - `psi`, `jensenshannon` on numeric columns: over the reference's decile bins, smoothed with a 0.5 pseudo-count.
 * - `chisquare`, `jensenshannon`, `psi` on categorical columns: over the union of categories.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for kinds that differ, missing bins, empty profiles or a test that
 * does not apply to the column's kind.
 */
export function profileDrift(
  reference: ColumnProfile,
  current: ColumnProfile,
  override: { test?: ProfileDriftTest; threshold?: number } = {},
): ProfileDrift {
  if (reference.kind !== current.kind)
    throw invalidParameter(`reference is ${reference.kind} but current is ${current.kind}`);
  if (reference.count === 0 || current.count === 0) {
    throw invalidParameter(
      `drift needs values on both sides; the reference has ${reference.count} and the current window ${current.count}`,
    );
  }
  const small = reference.count <= 1000;
  const test =
    override.test ??
    (reference.kind === 'numeric' ? (small ? 'ks' : 'wasserstein') : small ? 'chisquare' : 'jensenshannon');
  const threshold = override.threshold ?? (P_VALUE_TESTS.has(test) ? 0.05 : 0.1);
  const value =
    reference.kind === 'numeric'
      ? numericDriftValue(reference, current as NumericProfile, test)
      : categoricalDriftValue(reference, current as CategoricalProfile, test);
  const drifted = P_VALUE_TESTS.has(test) ? value < threshold : value >= threshold;
  return { test, value, threshold, drifted };
}

function numericDriftValue(
  reference: NumericProfile,
  current: NumericProfile,
  test: ProfileDriftTest,
): number {
  if (test === 'ks') {
    const statistic = sketchKs(reference.sketch, current.sketch);
    // scipy's asymptotic two-sample p-value: the one-sample distribution at n·m/(n+m).
    const en = Math.round((reference.count * current.count) / (reference.count + current.count));
    return kolmogorovSf(Math.max(en, 1), statistic);
  }
  if (test === 'wasserstein') {
    const std = Math.max(profileStd(reference), WASSERSTEIN_MIN_NORM);
    return sketchWasserstein(reference.sketch, current.sketch) / std;
  }
  if (test === 'chisquare')
    throw invalidParameter("drift test 'chisquare' applies to categorical columns only");
  if (
    reference.bins === undefined ||
    current.bins === undefined ||
    reference.bins.edges.join() !== current.bins.edges.join()
  )
    throw invalidParameter(
      `drift test '${test}' on a numeric column needs both profiles binned on the reference edges; use ks or wasserstein`,
    );
  const k = reference.bins.counts.length;
  const share = (counts: number[], n: number) => counts.map((c) => (c + 0.5) / (n + 0.5 * k));
  const ref = share(reference.bins.counts, reference.count);
  const cur = share(current.bins.counts, current.count);
  return test === 'psi' ? populationStabilityIndex(ref, cur) : jensenShannonDistance(ref, cur);
}

function categoricalDriftValue(
  reference: CategoricalProfile,
  current: CategoricalProfile,
  test: ProfileDriftTest,
): number {
  if (test === 'chisquare') {
    return chiSquareCategorical(
      new Map(Object.entries(reference.counts)),
      new Map(Object.entries(current.counts)),
    ).pValue;
  }
  const keys = [...new Set([...Object.keys(reference.counts), ...Object.keys(current.counts)])].sort();
  const ref = keys.map((key) => reference.counts[key] ?? 0);
  const cur = keys.map((key) => current.counts[key] ?? 0);
  if (test === 'jensenshannon') return jensenShannonDistance(ref, cur);
  if (test === 'psi') {
    const share = (counts: number[], n: number) => counts.map((c) => (c + 0.5) / (n + 0.5 * keys.length));
    return populationStabilityIndex(share(ref, reference.count), share(cur, current.count));
  }
  throw invalidParameter(`drift test '${test}' applies to numeric columns only`);
}

/**
 * Both sketched CDFs at every point where either steps: ascending values, each with F_a(value) and F_b(value)
 * (the share of each sketch at or below it).
 */
function cdfSteps(a: QuantileSketch, b: QuantileSketch): { value: number; fa: number; fb: number }[] {
  const pa = sketchPoints(a);
  const pb = sketchPoints(b);
  const steps: { value: number; fa: number; fb: number }[] = [];
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  while (i < pa.length || j < pb.length) {
    const value = Math.min(
      pa[i]?.value ?? Number.POSITIVE_INFINITY,
      pb[j]?.value ?? Number.POSITIVE_INFINITY,
    );
    while (i < pa.length && (pa[i] as { value: number }).value === value)
      ca += (pa[i++] as { count: number }).count;
    while (j < pb.length && (pb[j] as { value: number }).value === value)
      cb += (pb[j++] as { count: number }).count;
    steps.push({ value, fa: ca / a.count, fb: cb / b.count });
  }
  return steps;
}

/** Largest distance between the two sketched CDFs. */
function sketchKs(a: QuantileSketch, b: QuantileSketch): number {
  let statistic = 0;
  for (const { fa, fb } of cdfSteps(a, b)) statistic = Math.max(statistic, Math.abs(fa - fb));
  return statistic;
}

/** ∫ |F_a(x) − F_b(x)| dx between the two sketched distributions (both CDFs are flat between steps). */
function sketchWasserstein(a: QuantileSketch, b: QuantileSketch): number {
  const steps = cdfSteps(a, b);
  let distance = 0;
  for (let k = 1; k < steps.length; k++) {
    const previous = steps[k - 1] as { value: number; fa: number; fb: number };
    distance +=
      Math.abs(previous.fa - previous.fb) * ((steps[k] as { value: number }).value - previous.value);
  }
  return distance;
}
