import { invalidParameter } from '../../core/errors.js';

/** Bins of a numeric feature, fixed by the reference and applied unchanged to every later current window. */
export interface QuantileBins {
  /**
   * Interior cut points, strictly increasing. Bin 0 is (-inf, edges[0]), bin i is [edges[i-1], edges[i]), the
   * last is [edges[last], +inf), so current values outside the reference range still land in the end bins.
   */
  readonly edges: readonly number[];
}

/** Counts and smoothed proportions of the reference and current samples over the same bins. */
export interface BinnedProportions {
  readonly bins: QuantileBins;
  readonly referenceCounts: readonly number[];
  readonly currentCounts: readonly number[];
  readonly referenceProportions: readonly number[];
  readonly currentProportions: readonly number[];
}

/** Default pseudo-count added to every bin (Jeffreys / Krichevsky–Trofimov prior). */
export const DEFAULT_PSEUDO_COUNT = 0.5;

/**
 * Bins whose edges are the reference's k/binCount quantiles (numpy's default linear interpolation), so each
 * reference bin holds ~1/binCount of the reference mass. Repeated quantiles (ties, constant columns) collapse into
 * one edge, so there may be fewer than `binCount` bins; a constant reference yields two bins.
 *
 * Why not Evidently's way: Evidently bins numeric features into equal-width bins over the pooled reference and
 * current range, so one outlier stretches the grid, most reference mass falls into a few bins, many bins are
 * empty, and its JS distance goes unsmoothed while PSI patches zeros with 1e-4. Reference quantiles keep every
 * reference bin populated, do not move with the current data (so windows are comparable over time), and
 * `binProportions` smooths empty current bins with a pseudo-count that keeps the proportions a distribution.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for an empty or non-finite reference, or binCount < 2.
 */
export function quantileBins(reference: readonly number[], binCount = 10): QuantileBins {
  if (!Number.isInteger(binCount) || binCount < 2) {
    throw invalidParameter(`binning: binCount is ${binCount}; expected an integer >= 2`);
  }
  const sorted = sortedFinite(reference, 'reference');
  const edges: number[] = [];
  for (let k = 1; k < binCount; k++) {
    const q = linearQuantile(sorted, k / binCount);
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
  }
  return { edges };
}

/** Counts per bin; a value equal to an edge belongs to the bin on the edge's right. */
export function binCounts(values: readonly number[], bins: QuantileBins): number[] {
  const counts = new Array<number>(bins.edges.length + 1).fill(0);
  for (const v of values) counts[binIndex(v, bins.edges)]! += 1;
  return counts;
}

/**
 * Bins both samples with the reference's quantile bins and returns counts and smoothed proportions
 * p_i = (n_i + a) / (n + a·k), a = `pseudoCount` (default 0.5; 0 disables smoothing). Unlike replacing zeros by a
 * constant, this keeps Σ p_i = 1 and shrinks less as samples grow, so PSI stays finite without inventing mass.
 */
export function binProportions(
  reference: readonly number[],
  current: readonly number[],
  options: { readonly binCount?: number; readonly pseudoCount?: number } = {},
): BinnedProportions {
  if (current.length === 0)
    throw invalidParameter('binning: current sample is empty; expected at least one value');
  const bins = quantileBins(reference, options.binCount ?? 10);
  const a = options.pseudoCount ?? DEFAULT_PSEUDO_COUNT;
  if (!(a >= 0)) throw invalidParameter(`binning: pseudoCount is ${a}; expected >= 0`);
  const referenceCounts = binCounts(reference, bins);
  const currentCounts = binCounts(current, bins);
  const k = referenceCounts.length;
  const toProportions = (counts: number[], n: number): number[] => counts.map((c) => (c + a) / (n + a * k));
  return {
    bins,
    referenceCounts,
    currentCounts,
    referenceProportions: toProportions(referenceCounts, reference.length),
    currentProportions: toProportions(currentCounts, current.length),
  };
}

/** numpy's default quantile ('linear'): interpolate between order statistics at position q·(n-1). */
export function linearQuantile(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const frac = pos - lo;
  // numpy's lerp form, which is exact at both ends and keeps results monotone.
  return frac >= 0.5 ? b - (b - a) * (1 - frac) : a + (b - a) * frac;
}

/** The bin a value falls in: bin i holds [edges[i-1], edges[i]) (binary search). */
export function binIndex(v: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedFinite(values: readonly number[], name: string): Float64Array {
  if (values.length === 0)
    throw invalidParameter(`binning: ${name} sample is empty; expected at least one value`);
  const out = Float64Array.from(values);
  for (const x of out) {
    if (!Number.isFinite(x))
      throw invalidParameter(`binning: ${name} sample holds ${x}; expected finite numbers`);
  }
  return out.sort();
}
