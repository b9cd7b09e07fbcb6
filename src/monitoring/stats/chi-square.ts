import gammainc from '@stdlib/math-base-special-gammainc';
import { invalidParameter } from '../../core/errors.js';

/** A chi-square statistic with its degrees of freedom and upper-tail p-value. */
export interface ChiSquareResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly degreesOfFreedom: number;
}

/** Upper tail P(X > x) of the chi-square distribution with `dof` degrees of freedom. */
export function chiSquareSf(x: number, dof: number): number {
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (x <= 0) return 1;
  return gammainc(x / 2, dof / 2, true, true);
}

/**
 * Pearson's goodness-of-fit test, equal to `scipy.stats.chisquare(observed, expected)` (dof = k - 1).
 * An expected count of 0 against a positive observed count gives statistic Infinity and p-value 0, as scipy does.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for empty or mismatched inputs or negative counts.
 */
export function chiSquareGoodnessOfFit(
  observed: readonly number[],
  expected: readonly number[],
): ChiSquareResult {
  if (observed.length === 0)
    throw invalidParameter('chi-square: observed counts are empty; expected at least one');
  if (observed.length !== expected.length) {
    throw invalidParameter(
      `chi-square: ${observed.length} observed counts but ${expected.length} expected; expected equal lengths`,
    );
  }
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i]!;
    const e = expected[i]!;
    if (!(o >= 0) || !(e >= 0)) {
      throw invalidParameter(
        `chi-square: count ${i} is observed=${o}, expected=${e}; expected non-negative numbers`,
      );
    }
    if (e === 0) statistic += o === 0 ? 0 : Number.POSITIVE_INFINITY;
    else statistic += (o - e) ** 2 / e;
  }
  const degreesOfFreedom = observed.length - 1;
  const pValue = degreesOfFreedom === 0 ? Number.NaN : chiSquareSf(statistic, degreesOfFreedom);
  return { statistic, pValue, degreesOfFreedom };
}

/**
 * Evidently's categorical chi-square: over the union of categories, current counts are tested against the
 * reference frequencies scaled to the current total, i.e. `chisquare(cur, ref * n_cur / n_ref)`. A category
 * unseen in the reference yields p-value 0 (drift), exactly as Evidently + scipy do.
 * @throws SlipwayError INVALID_PARAMETER_VALUE when either side has no observations.
 */
export function chiSquareCategorical(
  referenceCounts: ReadonlyMap<string, number>,
  currentCounts: ReadonlyMap<string, number>,
): ChiSquareResult {
  const nRef = total(referenceCounts, 'reference');
  const nCur = total(currentCounts, 'current');
  const keys = [...new Set([...referenceCounts.keys(), ...currentCounts.keys()])].sort();
  const scale = nCur / nRef;
  return chiSquareGoodnessOfFit(
    keys.map((k) => currentCounts.get(k) ?? 0),
    keys.map((k) => (referenceCounts.get(k) ?? 0) * scale),
  );
}

function total(counts: ReadonlyMap<string, number>, name: string): number {
  let sum = 0;
  for (const v of counts.values()) sum += v;
  if (!(sum > 0))
    throw invalidParameter(`chi-square: ${name} counts sum to ${sum}; expected a positive total`);
  return sum;
}

/**
 * Chi-square test of independence on an r x c contingency table, equal to `scipy.stats.chi2_contingency(table)`
 * with its default `correction=True`: Yates' continuity correction applies only when dof = 1 (2x2 tables).
 * @throws SlipwayError INVALID_PARAMETER_VALUE for ragged or empty tables, negative cells, or a zero row/column
 * total (scipy raises there too: the expected frequency would be 0).
 */
export function chiSquareContingency(table: readonly (readonly number[])[]): ChiSquareResult {
  const rows = table.length;
  const cols = table[0]?.length ?? 0;
  if (rows === 0 || cols === 0) throw invalidParameter('chi-square contingency: table is empty');
  const rowSums = new Array<number>(rows).fill(0);
  const colSums = new Array<number>(cols).fill(0);
  let grand = 0;
  table.forEach((row, i) => {
    if (row.length !== cols) {
      throw invalidParameter(`chi-square contingency: row ${i} has ${row.length} cells; expected ${cols}`);
    }
    row.forEach((v, j) => {
      if (!(v >= 0))
        throw invalidParameter(`chi-square contingency: cell [${i}][${j}] is ${v}; expected >= 0`);
      rowSums[i]! += v;
      colSums[j]! += v;
      grand += v;
    });
  });
  if (rowSums.some((s) => s === 0) || colSums.some((s) => s === 0)) {
    throw invalidParameter(
      'chi-square contingency: a row or column sums to 0; expected frequencies must be positive',
    );
  }
  const degreesOfFreedom = rows * cols - rows - cols + 1;
  if (degreesOfFreedom === 0) return { statistic: 0, pValue: 1, degreesOfFreedom };
  let statistic = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const e = (rowSums[i]! * colSums[j]!) / grand;
      let o = table[i]![j]!;
      if (degreesOfFreedom === 1) o += Math.sign(e - o) * Math.min(0.5, Math.abs(e - o));
      statistic += (o - e) ** 2 / e;
    }
  }
  return { statistic, pValue: chiSquareSf(statistic, degreesOfFreedom), degreesOfFreedom };
}
