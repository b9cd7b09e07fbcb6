import { invalidParameter } from '../../core/errors.js';

/** Result of the two-sample Kolmogorov–Smirnov test. */
export interface KsTestResult {
  /** Largest absolute gap between the two empirical CDFs, in [0, 1]. */
  readonly statistic: number;
  /** Two-sided p-value under the null hypothesis that both samples share one continuous distribution. */
  readonly pValue: number;
  /** How the p-value was computed: exact lattice-path count, or the Kolmogorov distribution at n1·n2/(n1+n2). */
  readonly method: 'exact' | 'asymp';
}

/** scipy's `ks_2samp(method='auto')` goes exact when both samples have at most this many values. */
export const KS_MAX_EXACT_N = 10_000;

/**
 * Two-sample, two-sided Kolmogorov–Smirnov test; statistic and p-value agree with
 * `scipy.stats.ks_2samp(reference, current)` (method 'auto'): exact when max(n1, n2) <= 10 000, else
 * `kstwo.sf(D, round(n1·n2/(n1+n2)))`, falling back to it as scipy does if the exact count fails.
 * @throws SlipwayError INVALID_PARAMETER_VALUE when either sample is empty or holds a non-finite value.
 */
export function ksTwoSample(reference: readonly number[], current: readonly number[]): KsTestResult {
  const a = sortedFinite(reference, 'reference');
  const b = sortedFinite(current, 'current');
  const n1 = a.length;
  const n2 = b.length;
  let d = maxCdfGap(a, b);
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    // scipy snaps D onto the lattice of attainable values before counting paths.
    const h = roundHalfEven(d * lcm);
    const snapped = h / lcm;
    const prob = h === 0 ? 1 : n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: snapped, pValue: prob, method: 'exact' };
    d = snapped;
  }
  // numpy rounds half to even: 10001 vs 10001 gives en = 5000.5 -> 5000.
  const en = roundHalfEven((n1 * n2) / (n1 + n2));
  return { statistic: d, pValue: clamp01(kolmogorovSf(en, d)), method: 'asymp' };
}

function sortedFinite(values: readonly number[], name: string): Float64Array {
  if (values.length === 0)
    throw invalidParameter(`KS test: ${name} sample is empty; expected at least one value`);
  const out = Float64Array.from(values);
  for (const v of out) {
    if (!Number.isFinite(v))
      throw invalidParameter(`KS test: ${name} sample holds ${v}; expected finite numbers`);
  }
  return out.sort();
}

/** max over all pooled points of |F1 - F2|, computed as scipy does (right-continuous ECDFs, same rounding). */
function maxCdfGap(a: Float64Array, b: Float64Array): number {
  let maxDiff = 0;
  let minDiff = 0;
  const visit = (x: number): void => {
    const diff = upperBound(a, x) / a.length - upperBound(b, x) / b.length;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
  };
  for (const x of a) visit(x);
  for (const x of b) visit(x);
  return Math.min(Math.max(-minDiff, maxDiff), 1);
}

/** Number of elements <= x in a sorted array. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function gcd(x: number, y: number): number {
  let p = x;
  let q = y;
  while (q !== 0) [p, q] = [q, p % q];
  return p;
}

/** P(D_{n,n} >= h/n) by the alternating binomial series, evaluated Horner-style to avoid cancellation. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * Share of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm(m,n), computed directly as
 * 1 - inside (Viehmann 2021) on a sliding column, so no huge binomials appear.
 */
function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const column = new Float64Array(lenA).fill(1);
  column.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (column[jj + minj - lastminj]! * i + val * j) / (i + j);
      column[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) column.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return column[maxj - minj - 1]!;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const clamp01 = (p: number): number => Math.min(1, Math.max(0, p));

const E128 = 2 ** 128;
const EM128 = 2 ** -128;
// Stirling-series coefficients, highest order first (as scipy lists them).
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

/**
 * Survival function P(D_n > x) of the two-sided one-sample Kolmogorov statistic for sample size n, following
 * scipy's `kstwo.sf` (Simard & L'Ecuyer 2011): Ruben–Gambino at the ends, Durbin matrix, Pomeranz,
 * Pelz–Good or twice the one-sided Smirnov tail depending on n and n·x².
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0)
    throw invalidParameter(`kolmogorovSf: n is ${n}; expected a positive integer`);
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= (i / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clamp01(1 - prob);
  }
  if (t >= n - 1) return clamp01(2 * (1 - x) ** n);
  if (x >= 0.5) return clamp01(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clamp01(1 - durbinCdf(n, x));
    if (nx2 <= 4) return clamp01(1 - pomeranzCdf(n, x));
    return clamp01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clamp01(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinCdf(n, x) : pelzGoodCdf(n, x);
  return clamp01(1 - cdf);
}

/** log(n! / n^n) by Stirling's series. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

/**
 * One-sided Smirnov tail P(D+_n >= x) by the Birnbaum–Tingey sum, each term in log space; all terms are
 * positive, so the sum has no cancellation.
 */
function smirnovSf(n: number, x: number): number {
  const jmax = Math.floor(n * (1 - x) + 1e-12);
  let logBinom = 0;
  let sum = 0;
  for (let j = 0; j <= jmax; j++) {
    if (j > 0) logBinom += Math.log((n - j + 1) / j);
    const a = 1 - x - j / n;
    if (a <= 0) continue;
    sum += Math.exp(logBinom + (n - j) * Math.log(a) + (j - 1) * Math.log(x + j / n));
  }
  return x * sum;
}

type Matrix = Float64Array[];

function matmul(p: Matrix, q: Matrix): Matrix {
  const size = p.length;
  const out: Matrix = Array.from({ length: size }, () => new Float64Array(size));
  for (let i = 0; i < size; i++) {
    const row = out[i]!;
    const pi = p[i]!;
    for (let k = 0; k < size; k++) {
      const pik = pi[k]!;
      if (pik === 0) continue;
      const qk = q[k]!;
      for (let j = 0; j < size; j++) row[j]! += pik * qk[j]!;
    }
  }
  return out;
}

/** P(D_n <= d) by Durbin's matrix method as arranged by Marsaglia, Tsang & Wang (2003). */
function durbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let hMat: Matrix = Array.from({ length: m }, () => new Float64Array(m));
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) hMat[r]![i] = w[r - i + 1]!;
  }
  for (let r = 0; r < m; r++) hMat[r]![0] = v[r]!;
  for (let c = 0; c < m; c++) hMat[m - 1]![c] = v[m - 1 - c]!;
  let power: Matrix = Array.from({ length: m }, (_, i) => {
    const row = new Float64Array(m);
    row[i] = 1;
    return row;
  });
  let exponent = 0;
  let hExponent = 0;
  for (let nn = n; nn > 0; nn = Math.floor(nn / 2)) {
    if (nn % 2) {
      power = matmul(power, hMat);
      exponent += hExponent;
    }
    hMat = matmul(hMat, hMat);
    hExponent *= 2;
    if (Math.abs(hMat[k - 1]![k - 1]!) > E128) {
      for (const row of hMat) for (let c = 0; c < m; c++) row[c]! /= E128;
      hExponent += 128;
    }
  }
  let p = power[k - 1]![k - 1]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      exponent -= 128;
    }
  }
  return clamp01(p * 2 ** exponent);
}

function pomeranzRange(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n <= x) by Pomeranz's recursion (1974). */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * (g / n)) / m;
    twogpower[m] = (twogpower[m - 1]! * ((2 * g) / n)) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * ((1 - 2 * g) / n)) / m;
  }
  let v0 = new Float64Array(npwrs);
  let v1 = new Float64Array(npwrs);
  v1[0] = 1;
  let v0s = 0;
  let v1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzRange(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0s, v1s] = [v1s, v0s];
    v1.fill(0);
    [j1, j2] = pomeranzRange(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // Entries conv[j1-k1 .. j2-k1] of the full convolution of V0[k1-v0s ..][:ln2] with pwrs[:ln2].
      const base = k1 - v0s;
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let maxV = 0;
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c;
        let s = 0;
        for (let a = Math.max(0, idx - ln2 + 1); a <= Math.min(idx, ln2 - 1); a++)
          s += v0[base + a]! * pwrs[idx - a]!;
        v1[c] = s;
        if (s > maxV) maxV = s;
      }
      if (maxV > 0 && maxV < EM128) {
        for (let c = 0; c < convLen; c++) v1[c]! *= E128;
        exponent -= 128;
      }
      v1s = v0s + j1 - k1;
    }
  }
  let ans = v1[n - v1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      exponent += 128;
    }
    ans *= m;
  }
  return clamp01(ans * 2 ** exponent);
}

/** Pelz–Good (1976) asymptotic series for P(D_n <= x), accurate for large n. */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const pi2 = Math.PI ** 2;
  const pi4 = Math.PI ** 4;
  const pi6 = Math.PI ** 6;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = pi2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * pi2) / 4;
  const k2c = (pi4 * (1 - 2 * z2)) / 16;
  const k3d = (pi6 * (5 - 30 * z2)) / 64;
  const k3c = (pi4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (pi2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const terms = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) terms[i] = terms[i]! * qpower + coeffs[i]!;
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) terms[i] = (terms[i]! * q * Math.sqrt(2 * Math.PI)) / divisors[i]!;
  q = Math.exp(-pi2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    k3extra += (sqrt3z + Math.PI * k) * (sqrt3z - Math.PI * k) * k2 * qp;
  }
  terms[2] = terms[2]! + (k2extra * pi2 * Math.sqrt(2 * Math.PI)) / (-36 * z3);
  terms[3] = terms[3]! + (k3extra * pi2 * Math.sqrt(2 * Math.PI)) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += terms[i]! / n ** (i / 2);
  return sum;
}
