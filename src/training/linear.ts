import type { TabularData } from './dataset.js';
import { minimizeLbfgs } from './lbfgs.js';
import type { FeatureSpec, LinearModel, NumericScaler, OneHotVocabulary, Task } from './model.js';

export interface LinearOptions {
  /** L2 penalty on the weights (not the bias), per row; default 1e-4. */
  l2?: number;
  maxIterations?: number;
  /** Most frequent categories kept per categorical column; the rest are encoded as unseen; default 256. */
  maxCategories?: number;
}

/** Features as the linear model sees them: standardised numeric columns and one-hot indices (-1 = none). */
interface Encoded {
  numeric: Float64Array[];
  /** Index into the weight vector of each row's category, per categorical column, or -1. */
  hot: Int32Array[];
}

/** ONNX carries float32: the model stores its parameters as float32 values so `predict` matches the graph. */
const f32 = Math.fround;

function fitScaler(name: string, column: Float64Array): NumericScaler {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  for (const raw of column) {
    if (Number.isNaN(raw)) continue;
    const x = f32(raw);
    count++;
    const delta = x - mean;
    mean += delta / count;
    m2 += delta * (x - mean);
  }
  const std = count > 1 ? Math.sqrt(m2 / count) : 0;
  return { name, mean: f32(count === 0 ? 0 : mean), std: f32(std > 1e-12 ? std : 1) };
}

function fitVocabulary(name: string, column: readonly string[], maxCategories: number): OneHotVocabulary {
  const counts = new Map<string, number>();
  for (const value of column) counts.set(value, (counts.get(value) ?? 0) + 1);
  const categories = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxCategories)
    .map(([value]) => value);
  return { name, categories };
}

function encode(model: Pick<LinearModel, 'scalers' | 'vocabularies'>, data: TabularData): Encoded {
  const n = data.rowCount;
  const numeric = model.scalers.map((scaler) => {
    const column = data.numeric[scaler.name] as Float64Array;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = column[i] as number;
      out[i] = Number.isNaN(x) ? 0 : (f32(x) - scaler.mean) / scaler.std;
    }
    return out;
  });
  let offset = model.scalers.length;
  const hot = model.vocabularies.map((vocabulary) => {
    const index = new Map(vocabulary.categories.map((c, i) => [c, offset + i]));
    offset += vocabulary.categories.length;
    const column = data.categorical[vocabulary.name] as string[];
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = index.get(column[i] as string) ?? -1;
    return out;
  });
  return { numeric, hot };
}

/** Raw linear scores (logits for a classifier) of encoded rows. */
function scores(encoded: Encoded, weights: Float64Array, bias: number, n: number): Float64Array {
  const z = new Float64Array(n).fill(bias);
  encoded.numeric.forEach((column, j) => {
    const w = weights[j] as number;
    for (let i = 0; i < n; i++) z[i] = (z[i] as number) + w * (column[i] as number);
  });
  for (const column of encoded.hot) {
    for (let i = 0; i < n; i++) {
      const k = column[i] as number;
      if (k >= 0) z[i] = (z[i] as number) + (weights[k] as number);
    }
  }
  return z;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Fits logistic regression (classification: labels 0/1, regularised log loss) or linear regression (squared
 * error) by L-BFGS on standardised numerics and one-hot categoricals.
 */
export function trainLinear(
  data: TabularData,
  label: Float64Array,
  features: FeatureSpec,
  task: Task,
  options: LinearOptions = {},
): LinearModel {
  const n = data.rowCount;
  const l2 = options.l2 ?? 1e-4;
  const scalers = features.numeric.map((name) => fitScaler(name, data.numeric[name] as Float64Array));
  const vocabularies = features.categorical.map((name) =>
    fitVocabulary(name, data.categorical[name] as string[], options.maxCategories ?? 256),
  );
  const encoded = encode({ scalers, vocabularies }, data);
  const width = scalers.length + vocabularies.reduce((sum, v) => sum + v.categories.length, 0);

  // Parameters: the weights, then the bias (last). The bias starts at the label's mean (or its log-odds).
  let mean = 0;
  for (const y of label) mean += y;
  mean /= Math.max(1, n);
  const start = new Float64Array(width + 1);
  start[width] = task === 'classification' ? Math.log(Math.max(mean, 1e-6) / Math.max(1 - mean, 1e-6)) : mean;

  const residual = new Float64Array(n);
  const result = minimizeLbfgs(
    (params, gradient) => {
      const weights = params.subarray(0, width);
      const z = scores(encoded, weights, params[width] as number, n);
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const y = label[i] as number;
        const zi = z[i] as number;
        if (task === 'classification') {
          // log(1 + e^z) - y·z, computed without overflow.
          loss += (zi > 0 ? zi + Math.log1p(Math.exp(-zi)) : Math.log1p(Math.exp(zi))) - y * zi;
          residual[i] = sigmoid(zi) - y;
        } else {
          const r = zi - y;
          loss += 0.5 * r * r;
          residual[i] = r;
        }
      }
      gradient.fill(0);
      encoded.numeric.forEach((column, j) => {
        let g = 0;
        for (let i = 0; i < n; i++) g += (residual[i] as number) * (column[i] as number);
        gradient[j] = g / n;
      });
      for (const column of encoded.hot) {
        for (let i = 0; i < n; i++) {
          const k = column[i] as number;
          if (k >= 0) gradient[k] = (gradient[k] as number) + (residual[i] as number) / n;
        }
      }
      let biasGradient = 0;
      for (let i = 0; i < n; i++) biasGradient += residual[i] as number;
      gradient[width] = biasGradient / n;
      let penalty = 0;
      for (let j = 0; j < width; j++) {
        const w = params[j] as number;
        penalty += w * w;
        gradient[j] = (gradient[j] as number) + l2 * w;
      }
      return loss / n + 0.5 * l2 * penalty;
    },
    start,
    { maxIterations: options.maxIterations ?? 200 },
  );
  return {
    kind: 'linear',
    task,
    features: { numeric: [...features.numeric], categorical: [...features.categorical] },
    scalers,
    vocabularies,
    weights: Float64Array.from(result.x.subarray(0, width), f32),
    bias: f32(result.x[width] as number),
  };
}

/** P(class 1) for a classifier, the predicted value for a regressor, per row. */
export function predictLinear(model: LinearModel, data: TabularData): Float64Array {
  const z = scores(encode(model, data), model.weights, model.bias, data.rowCount);
  if (model.task === 'classification') for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i] as number);
  return z;
}
