import { invalidParameter } from '../../core/errors.js';

/**
 * Proportion that stands in for an empty bin, as Evidently does (`np.place(p, p == 0, 0.0001)`): without it an
 * empty bin on either side makes ln(r/c) infinite. The substitute is not renormalised, so the smoothed
 * proportions may sum to slightly more than 1; prefer `binProportions` (pseudo-count smoothing) for numeric data.
 */
export const PSI_EMPTY_BIN_EPSILON = 1e-4;

/**
 * Population Stability Index Σ (r_i − c_i)·ln(r_i / c_i) over bin proportions of the reference (r) and current
 * (c) data. Proportions equal to 0 are replaced by `epsilon` first (default 1e-4). Rule of thumb: < 0.1 stable,
 * 0.1–0.25 moderate shift, > 0.25 major shift.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for empty or mismatched inputs or proportions outside [0, 1].
 */
export function populationStabilityIndex(
  referenceProportions: readonly number[],
  currentProportions: readonly number[],
  options: { readonly epsilon?: number } = {},
): number {
  const epsilon = options.epsilon ?? PSI_EMPTY_BIN_EPSILON;
  if (referenceProportions.length === 0) throw invalidParameter('PSI: no bins; expected at least one');
  if (referenceProportions.length !== currentProportions.length) {
    throw invalidParameter(
      `PSI: ${referenceProportions.length} reference bins but ${currentProportions.length} current; expected equal`,
    );
  }
  let psi = 0;
  for (let i = 0; i < referenceProportions.length; i++) {
    const r = smooth(referenceProportions[i]!, epsilon, i);
    const c = smooth(currentProportions[i]!, epsilon, i);
    psi += (r - c) * Math.log(r / c);
  }
  return psi;
}

function smooth(p: number, epsilon: number, bin: number): number {
  if (!(p >= 0 && p <= 1))
    throw invalidParameter(`PSI: proportion of bin ${bin} is ${p}; expected within [0, 1]`);
  return p === 0 ? epsilon : p;
}
