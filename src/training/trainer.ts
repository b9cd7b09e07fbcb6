import { invalidParameter } from '../core/errors.js';
import { classificationMetrics, regressionMetrics } from '../monitoring/index.js';
import { splitHoldout, type TabularData } from './dataset.js';
import { type GbtOptions, predictGbt, trainGbt } from './gbt.js';
import { type LinearOptions, predictLinear, trainLinear } from './linear.js';
import type { FeatureSpec, Task, TrainedModel } from './model.js';
import { exportOnnx, RESERVED_NAMES } from './onnx-export.js';

/** `logreg`: logistic regression (classification); `linear`: linear regression; `gbt`: gradient-boosted trees. */
export type Algorithm = 'logreg' | 'linear' | 'gbt';
export const ALGORITHMS: readonly Algorithm[] = ['logreg', 'linear', 'gbt'];

export interface TrainOptions {
  algorithm: Algorithm;
  features: FeatureSpec;
  /** For `gbt`: default classification when every label is 0 or 1, else regression. */
  task?: Task;
  /** Share of rows held out for the reported metrics; default 0.2. */
  holdoutFraction?: number;
  /** Seed of the holdout split; default 42. */
  seed?: number;
  linear?: LinearOptions;
  gbt?: GbtOptions;
  /** Name of the label column, written into the ONNX metadata. */
  labelName?: string;
}

export interface TrainingResult {
  model: TrainedModel;
  task: Task;
  /** The model as ONNX, preprocessing included. */
  onnx: Uint8Array;
  /** Hyperparameters as MLflow params (strings). */
  params: Record<string, string>;
  /** Holdout metrics: `holdout_roc_auc`, `holdout_log_loss`, ... or `holdout_rmse`, `holdout_mae`, `holdout_r2`. */
  metrics: Record<string, number>;
  trainRows: number;
  holdoutRows: number;
}

/** P(class 1) for a classifier, the predicted value for a regressor, per row, computed in TypeScript. */
export function predict(model: TrainedModel, data: TabularData): Float64Array {
  return model.kind === 'linear' ? predictLinear(model, data) : predictGbt(model, data);
}

/** Trains on the rows' labels alone (no split, no metrics). Throws INVALID_PARAMETER_VALUE on unusable input. */
export function fitModel(data: TabularData, options: TrainOptions): TrainedModel {
  const label = requireLabel(data);
  const task = resolveTask(options, label);
  validateFeatures(data, options.features);
  if (task === 'classification') {
    const bad = label.findIndex((y) => y !== 0 && y !== 1);
    if (bad >= 0) {
      throw invalidParameter(
        `Label${options.labelName === undefined ? '' : ` '${options.labelName}'`} is ${label[bad]} at row ${bad}: a classifier expects 0 or 1 (or true/false)`,
      );
    }
  }
  if (data.rowCount < 2) throw invalidParameter(`Only ${data.rowCount} training rows: expected at least 2`);
  return options.algorithm === 'gbt'
    ? trainGbt(data, label, options.features, task, options.gbt)
    : trainLinear(data, label, options.features, task, options.linear);
}

/**
 * Splits off a holdout, trains, evaluates on the holdout and exports ONNX. The holdout metrics come from the
 * model's own predictions, computed the same way the gate computes them from the served model.
 */
export function trainTabular(data: TabularData, options: TrainOptions): TrainingResult {
  const holdoutFraction = options.holdoutFraction ?? 0.2;
  if (!(holdoutFraction > 0 && holdoutFraction < 1)) {
    throw invalidParameter(`Invalid holdout fraction ${holdoutFraction}: expected a number in (0, 1)`);
  }
  const { train, holdout } = splitHoldout(data, holdoutFraction, options.seed ?? 42);
  if (holdout.rowCount === 0) {
    throw invalidParameter(`No holdout rows out of ${data.rowCount}: expected more rows or a larger holdout`);
  }
  const model = fitModel(train, options);
  const predictions = predict(model, holdout);
  const actual = holdout.label as Float64Array;
  const metrics: Record<string, number> = {};
  if (model.task === 'classification') {
    const m = classificationMetrics(actual, predictions);
    Object.assign(metrics, {
      holdout_roc_auc: m.roc_auc,
      holdout_log_loss: m.log_loss,
      holdout_accuracy: m.accuracy,
      holdout_precision: m.precision,
      holdout_recall: m.recall,
      holdout_f1: m.f1,
    });
  } else {
    const m = regressionMetrics(actual, predictions);
    Object.assign(metrics, { holdout_rmse: m.rmse, holdout_mae: m.mae, holdout_r2: m.r2 });
  }
  for (const [key, value] of Object.entries(metrics)) if (!Number.isFinite(value)) delete metrics[key];
  return {
    model,
    task: model.task,
    onnx: exportOnnx(model, {
      ...(options.labelName !== undefined && { metadata: { 'slipway.label': options.labelName } }),
    }),
    params: paramsOf(options, model.task, train.rowCount, holdout.rowCount),
    metrics,
    trainRows: train.rowCount,
    holdoutRows: holdout.rowCount,
  };
}

function requireLabel(data: TabularData): Float64Array {
  if (data.label === undefined) throw invalidParameter('No label column: expected one to train on');
  return data.label;
}

function resolveTask(options: TrainOptions, label: Float64Array): Task {
  if (options.algorithm === 'logreg') return 'classification';
  if (options.algorithm === 'linear') return 'regression';
  if (options.task !== undefined) return options.task;
  return label.every((y) => y === 0 || y === 1) ? 'classification' : 'regression';
}

function validateFeatures(data: TabularData, features: FeatureSpec): void {
  const all = [...features.numeric, ...features.categorical];
  if (all.length === 0)
    throw invalidParameter('No features: expected at least one numeric or categorical column');
  const seen = new Set<string>();
  for (const name of all) {
    if (RESERVED_NAMES.includes(name)) {
      throw invalidParameter(
        `Feature '${name}' has the name of a model output: rename it (outputs are ${RESERVED_NAMES.join(', ')})`,
      );
    }
    if (seen.has(name))
      throw invalidParameter(`Feature '${name}' is listed twice: expected each column once`);
    seen.add(name);
  }
  for (const name of features.numeric) {
    if (data.numeric[name] === undefined)
      throw invalidParameter(`Numeric feature '${name}' is not in the data`);
  }
  for (const name of features.categorical) {
    if (data.categorical[name] === undefined) {
      throw invalidParameter(`Categorical feature '${name}' is not in the data`);
    }
  }
}

function paramsOf(
  options: TrainOptions,
  task: Task,
  trainRows: number,
  holdoutRows: number,
): Record<string, string> {
  const params: Record<string, string> = {
    algorithm: options.algorithm,
    task,
    numeric_features: options.features.numeric.join(','),
    categorical_features: options.features.categorical.join(','),
    holdout_fraction: String(options.holdoutFraction ?? 0.2),
    seed: String(options.seed ?? 42),
    train_rows: String(trainRows),
    holdout_rows: String(holdoutRows),
  };
  if (options.labelName !== undefined) params.label = options.labelName;
  if (options.algorithm === 'gbt') {
    const g = options.gbt ?? {};
    Object.assign(params, {
      trees: String(g.trees ?? 100),
      max_depth: String(g.maxDepth ?? 5),
      learning_rate: String(g.learningRate ?? 0.1),
      max_bins: String(g.maxBins ?? 64),
      min_samples_leaf: String(g.minSamplesLeaf ?? 20),
      l2: String(g.l2 ?? 1),
    });
  } else {
    const l = options.linear ?? {};
    Object.assign(params, {
      l2: String(l.l2 ?? 1e-4),
      max_iterations: String(l.maxIterations ?? 200),
      max_categories: String(l.maxCategories ?? 256),
    });
  }
  return params;
}
