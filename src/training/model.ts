/** The trainer's models as plain data: what `predict` evaluates and what the ONNX export writes. */

export type Task = 'classification' | 'regression';

/** Which columns feed the model: numerics first, then categoricals, in this order in the feature vector. */
export interface FeatureSpec {
  numeric: string[];
  categorical: string[];
}

/** Standardisation of one numeric column: (x - mean) / std; a missing value (NaN) becomes the mean. */
export interface NumericScaler {
  name: string;
  mean: number;
  std: number;
}

/** One-hot vocabulary of a categorical column: category i sets column i; any other value sets none. */
export interface OneHotVocabulary {
  name: string;
  categories: string[];
}

/**
 * Logistic (classification) or linear (regression) model over standardised numerics and one-hot
 * categoricals. `weights` follows the feature vector: one per numeric, then each vocabulary's categories.
 */
export interface LinearModel {
  kind: 'linear';
  task: Task;
  features: FeatureSpec;
  scalers: NumericScaler[];
  vocabularies: OneHotVocabulary[];
  weights: Float64Array;
  bias: number;
}

/**
 * A categorical column as one ordered numeric code for trees: categories sorted by their mean label, so a
 * threshold on the code splits the categories by how they relate to the label (as LightGBM orders them).
 */
export interface CategoryCodes {
  name: string;
  /** Categories by code: categories[i] has code i. */
  categories: string[];
  /** The code of a category not seen in training: where the overall mean label falls among the categories. */
  unseenCode: number;
}

/**
 * One regression tree in flat arrays. Node 0 is the root; a node with `feature[i] === -1` is a leaf worth
 * `value[i]`; otherwise rows with x[feature] <= threshold go to `left`, the others (and NaN) to `right`.
 */
export interface Tree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
}

/** Gradient-boosted trees: raw score = baseScore + sum of the trees; P(class 1) = sigmoid(raw) for classifiers. */
export interface TreeEnsembleModel {
  kind: 'gbt';
  task: Task;
  features: FeatureSpec;
  encoders: CategoryCodes[];
  baseScore: number;
  trees: Tree[];
}

export type TrainedModel = LinearModel | TreeEnsembleModel;
