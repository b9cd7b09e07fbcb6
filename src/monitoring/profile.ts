import { invalidParameter } from '../core/errors.js';
import { type QuantileBins, quantileBins } from './stats/binning.js';
import { chiSquareCategorical } from './stats/chi-square.js';
import { jensenShannonDistance } from './stats/jensen-shannon.js';
import { populationStabilityIndex } from './stats/psi.js';
import {
  addToSketch,
  createSketch,
  mergeSketches,
  type QuantileSketch,
  sketchQuantile,
} from './stats/quantile-sketch.js';

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

const isMissing = (value: unknown): boolean =>
  value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value));

/** Profiles one column. A column is numeric when every present value is a finite number. */
export function profileColumn(values: readonly unknown[], bins?: QuantileBins): ColumnProfile {
  const present = values.filter((v) => !isMissing(v));
  const missing = values.length - present.length;
  if (present.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    const numbers = present as number[];
    let mean = 0;
    let m2 = 0;
    numbers.forEach((x, i) => {
      const delta = x - mean;
      mean += delta / (i + 1);
      m2 += delta * (x - mean);
    });
    const profile: NumericProfile = {
      kind: 'numeric',
      count: numbers.length,
      missing,
      min: numbers.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...numbers),
      max: numbers.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...numbers),
      mean,
      m2,
      sketch: addToSketch(createSketch(), numbers),
    };
    if (bins !== undefined) profile.bins = { edges: [...bins.edges], counts: countBins(numbers, bins.edges) };
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
export function mergeProfiles(a: ColumnProfile, b: ColumnProfile): ColumnProfile {
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
    min: Math.min(x.min, y.min),
    max: Math.max(x.max, y.max),
    mean: count === 0 ? 0 : x.mean + (delta * y.count) / count,
    m2: count === 0 ? 0 : x.m2 + y.m2 + (delta * delta * x.count * y.count) / count,
    sketch: mergeSketches(x.sketch, y.sketch),
  };
  if (x.bins !== undefined || y.bins !== undefined) {
    if (x.bins === undefined || y.bins === undefined || x.bins.edges.join() !== y.bins.edges.join()) {
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

export interface ProfileDrift {
  test: 'psi' | 'jensenshannon' | 'chisquare';
  value: number;
  threshold: number;
  drifted: boolean;
}

/**
 * Drift between a reference and a current profile, computed from mergeable counts only: PSI over the reference's
 * bins (smoothed with a 0.5 pseudo-count) for numeric columns, and chi-square (p < 0.05) or Jensen-Shannon
 * distance (≥ 0.1, natural log) for categorical ones, as the raw-row tests choose by reference size.
 */
export function profileDrift(reference: ColumnProfile, current: ColumnProfile): ProfileDrift {
  if (reference.kind === 'numeric' && current.kind === 'numeric') {
    if (reference.bins === undefined || current.bins === undefined) {
      throw invalidParameter('numeric drift from profiles needs both binned on the reference edges');
    }
    const k = reference.bins.counts.length;
    const share = (counts: number[], n: number) => counts.map((c) => (c + 0.5) / (n + 0.5 * k));
    const value = populationStabilityIndex(
      share(reference.bins.counts, reference.count),
      share(current.bins.counts, current.count),
    );
    return { test: 'psi', value, threshold: 0.1, drifted: value >= 0.1 };
  }
  if (reference.kind === 'categorical' && current.kind === 'categorical') {
    const keys = [...new Set([...Object.keys(reference.counts), ...Object.keys(current.counts)])].sort();
    if (reference.count <= 1000) {
      const result = chiSquareCategorical(
        new Map(Object.entries(reference.counts)),
        new Map(Object.entries(current.counts)),
      );
      return { test: 'chisquare', value: result.pValue, threshold: 0.05, drifted: result.pValue < 0.05 };
    }
    const value = jensenShannonDistance(
      keys.map((key) => reference.counts[key] ?? 0),
      keys.map((key) => current.counts[key] ?? 0),
    );
    return { test: 'jensenshannon', value, threshold: 0.1, drifted: value >= 0.1 };
  }
  throw invalidParameter(`reference is ${reference.kind} but current is ${current.kind}`);
}

function countBins(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    // Bin i holds [edges[i-1], edges[i]): binary search for the first edge greater than v.
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((edges[mid] as number) <= v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo] = (counts[lo] ?? 0) + 1;
  }
  return counts;
}
