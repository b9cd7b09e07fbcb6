import { invalidParameter } from '../../core/errors.js';

/**
 * Jensen–Shannon distance (the square root of the divergence) between two histograms over the same bins;
 * equal to `scipy.spatial.distance.jensenshannon(p, q, base)`. Inputs are normalised to sum 1, so raw counts
 * work; empty bins are fine (0·log 0 = 0), so no smoothing is needed. Natural log by default, giving values in
 * [0, sqrt(ln 2)]; with `base: 2` the distance lies in [0, 1].
 * @throws SlipwayError INVALID_PARAMETER_VALUE for empty, mismatched, negative or all-zero histograms.
 */
export function jensenShannonDistance(
  p: readonly number[],
  q: readonly number[],
  options: { readonly base?: number } = {},
): number {
  if (p.length === 0)
    throw invalidParameter('Jensen-Shannon: histograms are empty; expected at least one bin');
  if (p.length !== q.length) {
    throw invalidParameter(
      `Jensen-Shannon: histograms have ${p.length} and ${q.length} bins; expected equal`,
    );
  }
  const pn = normalise(p, 'p');
  const qn = normalise(q, 'q');
  let divergence = 0;
  for (let i = 0; i < pn.length; i++) {
    const m = (pn[i]! + qn[i]!) / 2;
    divergence += relativeEntropy(pn[i]!, m) + relativeEntropy(qn[i]!, m);
  }
  if (options.base !== undefined) divergence /= Math.log(options.base);
  return Math.sqrt(Math.max(divergence, 0) / 2);
}

function relativeEntropy(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(x / y);
}

function normalise(h: readonly number[], name: string): number[] {
  let sum = 0;
  for (const v of h) {
    if (!(v >= 0) || !Number.isFinite(v)) {
      throw invalidParameter(`Jensen-Shannon: ${name} holds ${v}; expected finite non-negative weights`);
    }
    sum += v;
  }
  if (sum === 0) throw invalidParameter(`Jensen-Shannon: ${name} sums to 0; expected some mass`);
  return h.map((v) => v / sum);
}
