import { invalidParameter } from '../../core/errors.js';

/**
 * First Wasserstein (earth mover's) distance between two 1-D empirical distributions, in the samples' units;
 * equal to `scipy.stats.wasserstein_distance(reference, current)` (unweighted): the integral of |F1 - F2|.
 * @throws SlipwayError INVALID_PARAMETER_VALUE when a sample is empty or holds a non-finite value.
 */
export function wassersteinDistance(reference: readonly number[], current: readonly number[]): number {
  const u = sortedFinite(reference, 'reference');
  const v = sortedFinite(current, 'current');
  const all = new Float64Array(u.length + v.length);
  all.set(u);
  all.set(v, u.length);
  all.sort();
  let distance = 0;
  let iu = 0;
  let iv = 0;
  for (let k = 0; k < all.length - 1; k++) {
    const x = all[k]!;
    while (iu < u.length && u[iu]! <= x) iu++;
    while (iv < v.length && v[iv]! <= x) iv++;
    distance += Math.abs(iu / u.length - iv / v.length) * (all[k + 1]! - x);
  }
  return distance;
}

/** Evidently floors the reference std at this value so a constant reference does not divide by zero. */
export const WASSERSTEIN_MIN_NORM = 0.001;

/**
 * Evidently's "Wasserstein distance (normed)": the distance divided by max(population std of the reference,
 * 0.001). Unitless, so one threshold (default 0.1) serves every numeric feature.
 */
export function wassersteinNormed(reference: readonly number[], current: readonly number[]): number {
  return wassersteinDistance(reference, current) / Math.max(populationStd(reference), WASSERSTEIN_MIN_NORM);
}

/** Standard deviation with ddof = 0 (numpy's default), by a two-pass mean so large offsets stay accurate. */
export function populationStd(values: readonly number[]): number {
  if (values.length === 0) throw invalidParameter('std: sample is empty; expected at least one value');
  let mean = 0;
  for (const x of values) mean += x;
  mean /= values.length;
  let ss = 0;
  for (const x of values) ss += (x - mean) ** 2;
  return Math.sqrt(ss / values.length);
}

function sortedFinite(values: readonly number[], name: string): Float64Array {
  if (values.length === 0)
    throw invalidParameter(`Wasserstein: ${name} sample is empty; expected at least one value`);
  const out = Float64Array.from(values);
  for (const x of out) {
    if (!Number.isFinite(x))
      throw invalidParameter(`Wasserstein: ${name} sample holds ${x}; expected finite numbers`);
  }
  return out.sort();
}
