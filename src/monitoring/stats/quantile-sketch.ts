import { invalidParameter } from '../../core/errors.js';

/**
 * A mergeable quantile sketch with relative-error guarantee (DDSketch, Masson et al. 2019), in plain JSON.
 *
 * Error bound: for any q in [0, 1], `sketchQuantile(s, q)` returns x̂ with |x̂ − x| <= alpha·|x|, where x is the
 * exact lower quantile sorted[floor(q·(n−1))] of everything added; values with |x| < `minIndexable` are counted
 * as 0, so near zero the bound is absolute (minIndexable). Min and max are kept exactly. Buckets are keyed by
 * ceil(log_γ |x|), γ = (1+alpha)/(1−alpha); `mergeSketches` adds bucket counts, so the merge of any partition's
 * sketches is identical to the sketch of the union, whatever the order. Memory grows with log(max/min)/log γ
 * (~ 1 400 buckets for alpha = 0.01 across 12 decades), not with n.
 */
export interface QuantileSketch {
  readonly alpha: number;
  readonly minIndexable: number;
  readonly count: number;
  readonly zeroCount: number;
  readonly min: number;
  readonly max: number;
  /** Bucket index → count, for positive values. */
  readonly positive: Readonly<Record<string, number>>;
  /** Bucket index → count, for the absolute values of negative values. */
  readonly negative: Readonly<Record<string, number>>;
}

export const DEFAULT_SKETCH_ALPHA = 0.01;
export const DEFAULT_MIN_INDEXABLE = 1e-9;

/** An empty sketch; `alpha` is the relative accuracy in (0, 1). */
export function createSketch(
  options: { readonly alpha?: number; readonly minIndexable?: number } = {},
): QuantileSketch {
  const alpha = options.alpha ?? DEFAULT_SKETCH_ALPHA;
  const minIndexable = options.minIndexable ?? DEFAULT_MIN_INDEXABLE;
  if (!(alpha > 0 && alpha < 1)) throw invalidParameter(`sketch: alpha is ${alpha}; expected within (0, 1)`);
  if (!(minIndexable > 0)) throw invalidParameter(`sketch: minIndexable is ${minIndexable}; expected > 0`);
  return {
    alpha,
    minIndexable,
    count: 0,
    zeroCount: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    positive: {},
    negative: {},
  };
}

/** A new sketch holding the old one's values plus `values`; the input sketch is not modified. */
export function addToSketch(sketch: QuantileSketch, values: readonly number[]): QuantileSketch {
  const positive: Record<string, number> = { ...sketch.positive };
  const negative: Record<string, number> = { ...sketch.negative };
  const logGamma = Math.log(gamma(sketch.alpha));
  let { zeroCount, min, max } = sketch;
  for (const x of values) {
    if (!Number.isFinite(x)) throw invalidParameter(`sketch: value ${x}; expected finite numbers`);
    if (x < min) min = x;
    if (x > max) max = x;
    const magnitude = Math.abs(x);
    if (magnitude < sketch.minIndexable) {
      zeroCount++;
      continue;
    }
    const key = String(Math.ceil(Math.log(magnitude) / logGamma));
    const store = x > 0 ? positive : negative;
    store[key] = (store[key] ?? 0) + 1;
  }
  return { ...sketch, count: sketch.count + values.length, zeroCount, min, max, positive, negative };
}

/** The sketch of a sample, built in one pass. */
export function sketchOf(
  values: readonly number[],
  options: { readonly alpha?: number; readonly minIndexable?: number } = {},
): QuantileSketch {
  return addToSketch(createSketch(options), values);
}

/**
 * The sketch of the union of both sketches' inputs.
 * @throws SlipwayError INVALID_PARAMETER_VALUE when the sketches were built with different parameters.
 */
export function mergeSketches(a: QuantileSketch, b: QuantileSketch): QuantileSketch {
  if (a.alpha !== b.alpha || a.minIndexable !== b.minIndexable) {
    throw invalidParameter(
      `sketch merge: parameters differ (alpha ${a.alpha} vs ${b.alpha}, minIndexable ${a.minIndexable} vs ${b.minIndexable}); expected equal`,
    );
  }
  const add = (
    x: Readonly<Record<string, number>>,
    y: Readonly<Record<string, number>>,
  ): Record<string, number> => {
    const out: Record<string, number> = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    alpha: a.alpha,
    minIndexable: a.minIndexable,
    count: a.count + b.count,
    zeroCount: a.zeroCount + b.zeroCount,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    positive: add(a.positive, b.positive),
    negative: add(a.negative, b.negative),
  };
}

/**
 * Estimated q-quantile, within the bound stated on `QuantileSketch`; q = 0 and q = 1 return the exact min/max.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for an empty sketch or q outside [0, 1].
 */
export function sketchQuantile(sketch: QuantileSketch, q: number): number {
  if (sketch.count === 0) throw invalidParameter('sketch: no values were added; cannot take a quantile');
  if (!(q >= 0 && q <= 1)) throw invalidParameter(`sketch: quantile ${q}; expected within [0, 1]`);
  if (q === 0) return sketch.min;
  if (q === 1) return sketch.max;
  const rank = Math.floor(q * (sketch.count - 1));
  const g = gamma(sketch.alpha);
  // The bucket (γ^(i-1), γ^i] is represented by 2γ^i/(γ+1), within alpha of every value in it.
  const value = (index: number): number => (2 * g ** index) / (g + 1);
  const neg = sortedEntries(sketch.negative, -1);
  const pos = sortedEntries(sketch.positive, 1);
  let seen = 0;
  let estimate = 0;
  const ordered: [number, number][] = [...neg.map(([i, c]): [number, number] => [-value(i), c])];
  ordered.push([0, sketch.zeroCount]);
  for (const [i, c] of pos) ordered.push([value(i), c]);
  for (const [v, c] of ordered) {
    seen += c;
    if (seen > rank) {
      estimate = v;
      break;
    }
  }
  return Math.min(Math.max(estimate, sketch.min), sketch.max);
}

/** Parses a sketch from JSON text produced by `JSON.stringify(sketch)`; min/max of an empty sketch are null there. */
export function parseSketch(json: string): QuantileSketch {
  const raw = JSON.parse(json) as Partial<Record<keyof QuantileSketch, unknown>>;
  const num = (v: unknown, name: string): number => {
    if (typeof v !== 'number')
      throw invalidParameter(`sketch JSON: ${name} is ${String(v)}; expected a number`);
    return v;
  };
  const store = (v: unknown, name: string): Record<string, number> => {
    if (typeof v !== 'object' || v === null) throw invalidParameter(`sketch JSON: ${name} is not an object`);
    const out: Record<string, number> = {};
    for (const [k, c] of Object.entries(v)) {
      if (!/^-?\d+$/.test(k))
        throw invalidParameter(`sketch JSON: ${name} has bucket key '${k}'; expected an integer`);
      out[k] = num(c, `${name}.${k}`);
    }
    return out;
  };
  const count = num(raw.count, 'count');
  return {
    ...createSketch({ alpha: num(raw.alpha, 'alpha'), minIndexable: num(raw.minIndexable, 'minIndexable') }),
    count,
    zeroCount: num(raw.zeroCount, 'zeroCount'),
    min: count === 0 ? Number.POSITIVE_INFINITY : num(raw.min, 'min'),
    max: count === 0 ? Number.NEGATIVE_INFINITY : num(raw.max, 'max'),
    positive: store(raw.positive, 'positive'),
    negative: store(raw.negative, 'negative'),
  };
}

/**
 * The sketched distribution as ascending (value, count) points: each bucket at its representative value, clamped
 * to [min, max]. Every input value is within alpha·|x| of its point, so distances computed on these points
 * (Kolmogorov–Smirnov, Wasserstein) are those of the data with each value moved by at most alpha·|x|.
 */
export function sketchPoints(sketch: QuantileSketch): { value: number; count: number }[] {
  const g = gamma(sketch.alpha);
  const value = (index: number): number => (2 * g ** index) / (g + 1);
  const clamp = (v: number) => Math.min(Math.max(v, sketch.min), sketch.max);
  const points: { value: number; count: number }[] = [];
  for (const [i, c] of sortedEntries(sketch.negative, -1)) points.push({ value: clamp(-value(i)), count: c });
  if (sketch.zeroCount > 0) points.push({ value: clamp(0), count: sketch.zeroCount });
  for (const [i, c] of sortedEntries(sketch.positive, 1)) points.push({ value: clamp(value(i)), count: c });
  return points;
}

function gamma(alpha: number): number {
  return (1 + alpha) / (1 - alpha);
}

/** Entries ordered so their represented values ascend: negative store by descending index. */
function sortedEntries(store: Readonly<Record<string, number>>, direction: 1 | -1): [number, number][] {
  return Object.entries(store)
    .map(([k, c]): [number, number] => [Number(k), c])
    .sort((x, y) => direction * (x[0] - y[0]));
}
