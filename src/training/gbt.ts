import type { TabularData } from './dataset.js';
import type { CategoryCodes, FeatureSpec, Task, Tree, TreeEnsembleModel } from './model.js';

export interface GbtOptions {
  /** Boosting rounds (trees); default 100. */
  trees?: number;
  /** Maximum depth of each tree (root = depth 0); default 5. */
  maxDepth?: number;
  /** Shrinkage applied to every leaf; default 0.1. */
  learningRate?: number;
  /** Histogram bins per feature, at most 254; default 64. */
  maxBins?: number;
  /** Fewest training rows in a leaf; default 20. */
  minSamplesLeaf?: number;
  /** L2 penalty on leaf values (XGBoost's lambda); default 1. */
  l2?: number;
  /** Most frequent categories kept per categorical column; the rest are encoded as unseen; default 1000. */
  maxCategories?: number;
}

const MISSING_BIN = 255;
const STRIDE = 256;
const f32 = Math.fround;
const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Orders a column's categories by their smoothed mean label, so one threshold separates high from low. */
function fitCategoryCodes(
  name: string,
  column: readonly string[],
  label: Float64Array,
  maxCategories: number,
): CategoryCodes {
  const stats = new Map<string, { count: number; sum: number }>();
  let total = 0;
  for (let i = 0; i < column.length; i++) {
    const value = column[i] as string;
    const entry = stats.get(value) ?? { count: 0, sum: 0 };
    entry.count++;
    entry.sum += label[i] as number;
    total += label[i] as number;
    stats.set(value, entry);
  }
  const prior = total / Math.max(1, column.length);
  // Shrink small categories toward the overall mean (m = 10 pseudo-rows), so a category seen twice cannot sort
  // to an extreme on noise.
  const smoothing = 10;
  const kept = [...stats.entries()]
    .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxCategories)
    .map(([value, s]) => ({ value, mean: (s.sum + prior * smoothing) / (s.count + smoothing) }))
    .sort((a, b) => a.mean - b.mean || (a.value < b.value ? -1 : 1));
  const below = kept.filter((c) => c.mean < prior).length;
  return { name, categories: kept.map((c) => c.value), unseenCode: below - 0.5 };
}

/** The model's input columns as float32 values: raw numerics (NaN = missing), then category codes. */
export function treeFeatures(
  model: Pick<TreeEnsembleModel, 'features' | 'encoders'>,
  data: TabularData,
): Float32Array[] {
  const numeric = model.features.numeric.map((name) => Float32Array.from(data.numeric[name] as Float64Array));
  const categorical = model.encoders.map((encoder) => {
    const codes = new Map(encoder.categories.map((c, i) => [c, i]));
    const column = data.categorical[encoder.name] as string[];
    return Float32Array.from(column, (value) => codes.get(value) ?? encoder.unseenCode);
  });
  return [...numeric, ...categorical];
}

/** Split points of one feature: up to `maxBins - 1` float32 values at its quantiles, ascending, distinct. */
function binEdges(column: Float32Array, maxBins: number): Float32Array {
  const step = Math.max(1, Math.floor(column.length / 200_000));
  const sample: number[] = [];
  for (let i = 0; i < column.length; i += step) {
    const x = column[i] as number;
    if (!Number.isNaN(x)) sample.push(x);
  }
  const sorted = Float32Array.from(sample).sort();
  const unique: number[] = [];
  for (const x of sorted) if (unique.length === 0 || unique[unique.length - 1] !== x) unique.push(x);
  let candidates: number[];
  if (unique.length <= maxBins) {
    candidates = unique.slice(0, -1);
  } else {
    candidates = [];
    for (let k = 1; k < maxBins; k++) {
      const x = sorted[Math.floor((k * sorted.length) / maxBins)] as number;
      if (candidates[candidates.length - 1] !== x && x < (unique[unique.length - 1] as number)) {
        candidates.push(x);
      }
    }
  }
  return Float32Array.from(candidates);
}

/** Bin of each value: the first edge >= x (so bin <= b exactly when x <= edges[b]); NaN gets MISSING_BIN. */
function binColumn(column: Float32Array, edges: Float32Array): Uint8Array {
  const bins = new Uint8Array(column.length);
  for (let i = 0; i < column.length; i++) {
    const x = column[i] as number;
    if (Number.isNaN(x)) {
      bins[i] = MISSING_BIN;
      continue;
    }
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((edges[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    bins[i] = lo;
  }
  return bins;
}

interface GrowingNode {
  rows: Uint32Array;
  histogram: Float64Array;
  depth: number;
  id: number;
}

/**
 * Gradient-boosted regression trees (XGBoost-style second-order gain with an L2 penalty on leaf values) on
 * histogram bins at each feature's quantiles. Classification fits log loss on the logit; regression fits
 * squared error. Trees grow depth-first to `maxDepth`; a child's histogram is the parent's minus its sibling's.
 */
export function trainGbt(
  data: TabularData,
  label: Float64Array,
  features: FeatureSpec,
  task: Task,
  options: GbtOptions = {},
): TreeEnsembleModel {
  const n = data.rowCount;
  const rounds = options.trees ?? 100;
  const maxDepth = options.maxDepth ?? 5;
  const learningRate = options.learningRate ?? 0.1;
  const maxBins = Math.min(254, Math.max(2, options.maxBins ?? 64));
  const minLeaf = Math.max(1, options.minSamplesLeaf ?? 20);
  const lambda = options.l2 ?? 1;
  const encoders = features.categorical.map((name) =>
    fitCategoryCodes(name, data.categorical[name] as string[], label, options.maxCategories ?? 1000),
  );
  const shell = {
    features: { numeric: [...features.numeric], categorical: [...features.categorical] },
    encoders,
  };
  const columns = treeFeatures(shell, data);
  const edges = columns.map((column) => binEdges(column, maxBins));
  const bins = columns.map((column, f) => binColumn(column, edges[f] as Float32Array));
  const featureCount = columns.length;

  let mean = 0;
  for (const y of label) mean += y;
  mean /= Math.max(1, n);
  const baseScore = f32(
    task === 'classification' ? Math.log(Math.max(mean, 1e-6) / Math.max(1 - mean, 1e-6)) : mean,
  );
  const raw = new Float64Array(n).fill(baseScore);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);

  const buildHistogram = (rows: Uint32Array): Float64Array => {
    const histogram = new Float64Array(featureCount * STRIDE * 3);
    // The hot loop of training: indexed loops and locals, no iterators.
    const count = rows.length;
    for (let f = 0; f < featureCount; f++) {
      const featureBins = bins[f] as Uint8Array;
      const offset = f * STRIDE;
      for (let i = 0; i < count; i++) {
        const r = rows[i] as number;
        const at = (offset + (featureBins[r] as number)) * 3;
        histogram[at] = (histogram[at] as number) + (grad[r] as number);
        histogram[at + 1] = (histogram[at + 1] as number) + (hess[r] as number);
        histogram[at + 2] = (histogram[at + 2] as number) + 1;
      }
    }
    return histogram;
  };

  const trees: Tree[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < n; i++) {
      if (task === 'classification') {
        const p = sigmoid(raw[i] as number);
        grad[i] = p - (label[i] as number);
        hess[i] = Math.max(p * (1 - p), 1e-12);
      } else {
        grad[i] = (raw[i] as number) - (label[i] as number);
        hess[i] = 1;
      }
    }
    const feature: number[] = [];
    const threshold: number[] = [];
    const left: number[] = [];
    const right: number[] = [];
    const value: number[] = [];
    const addNode = (): number => {
      feature.push(-1);
      threshold.push(0);
      left.push(-1);
      right.push(-1);
      value.push(0);
      return feature.length - 1;
    };
    const allRows = new Uint32Array(n);
    for (let i = 0; i < n; i++) allRows[i] = i;
    const stack: GrowingNode[] = [
      { rows: allRows, histogram: buildHistogram(allRows), depth: 0, id: addNode() },
    ];
    while (stack.length > 0) {
      const current = stack.pop() as GrowingNode;
      const { histogram, rows } = current;
      let totalG = 0;
      let totalH = 0;
      for (let b = 0; b < STRIDE; b++) {
        totalG += histogram[b * 3] as number;
        totalH += histogram[b * 3 + 1] as number;
      }
      const parentScore = (totalG * totalG) / (totalH + lambda);
      let bestGain = 1e-9;
      let bestFeature = -1;
      let bestBin = -1;
      if (current.depth < maxDepth && rows.length >= 2 * minLeaf) {
        for (let f = 0; f < featureCount; f++) {
          const splits = (edges[f] as Float32Array).length;
          let g = 0;
          let h = 0;
          let count = 0;
          for (let b = 0; b < splits; b++) {
            const at = (f * STRIDE + b) * 3;
            g += histogram[at] as number;
            h += histogram[at + 1] as number;
            count += histogram[at + 2] as number;
            if (count < minLeaf) continue;
            if (rows.length - count < minLeaf) break;
            const gr = totalG - g;
            const hr = totalH - h;
            const gain = (g * g) / (h + lambda) + (gr * gr) / (hr + lambda) - parentScore;
            if (gain > bestGain) {
              bestGain = gain;
              bestFeature = f;
              bestBin = b;
            }
          }
        }
      }
      if (bestFeature < 0) {
        const leaf = f32((-totalG / (totalH + lambda)) * learningRate);
        value[current.id] = leaf;
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i] as number;
          raw[r] = (raw[r] as number) + leaf;
        }
        continue;
      }
      const splitBins = bins[bestFeature] as Uint8Array;
      // The left child's count is in the histogram already: no counting pass.
      let leftCount = 0;
      for (let b = 0; b <= bestBin; b++) leftCount += histogram[(bestFeature * STRIDE + b) * 3 + 2] as number;
      const leftRows = new Uint32Array(leftCount);
      const rightRows = new Uint32Array(rows.length - leftCount);
      let li = 0;
      let ri = 0;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i] as number;
        if ((splitBins[r] as number) <= bestBin) leftRows[li++] = r;
        else rightRows[ri++] = r;
      }
      const smallIsLeft = leftRows.length <= rightRows.length;
      const smallHistogram = buildHistogram(smallIsLeft ? leftRows : rightRows);
      const largeHistogram = histogram;
      for (let i = 0; i < largeHistogram.length; i++) {
        largeHistogram[i] = (largeHistogram[i] as number) - (smallHistogram[i] as number);
      }
      feature[current.id] = bestFeature;
      threshold[current.id] = (edges[bestFeature] as Float32Array)[bestBin] as number;
      const leftId = addNode();
      const rightId = addNode();
      left[current.id] = leftId;
      right[current.id] = rightId;
      const depth = current.depth + 1;
      stack.push(
        { rows: leftRows, histogram: smallIsLeft ? smallHistogram : largeHistogram, depth, id: leftId },
        { rows: rightRows, histogram: smallIsLeft ? largeHistogram : smallHistogram, depth, id: rightId },
      );
    }
    trees.push({
      feature: Int32Array.from(feature),
      threshold: Float32Array.from(threshold),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value: Float32Array.from(value),
    });
  }
  return { kind: 'gbt', task, ...shell, baseScore, trees };
}

/** P(class 1) for a classifier, the predicted value for a regressor, per row. */
export function predictGbt(model: TreeEnsembleModel, data: TabularData): Float64Array {
  const columns = treeFeatures(model, data);
  const out = new Float64Array(data.rowCount).fill(model.baseScore);
  for (const tree of model.trees) {
    for (let r = 0; r < data.rowCount; r++) {
      let node = 0;
      for (;;) {
        const f = tree.feature[node] as number;
        if (f < 0) break;
        const x = (columns[f] as Float32Array)[r] as number;
        node =
          x <= (tree.threshold[node] as number) ? (tree.left[node] as number) : (tree.right[node] as number);
      }
      out[r] = (out[r] as number) + (tree.value[node] as number);
    }
  }
  if (model.task === 'classification')
    for (let r = 0; r < out.length; r++) out[r] = sigmoid(out[r] as number);
  return out;
}
