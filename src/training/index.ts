export {
  type DataSource,
  type ReadTabularOptions,
  readTabular,
  seededRandom,
  sourceRelation,
  splitHoldout,
  type TabularData,
  takeRows,
} from './dataset.js';
export type { GbtOptions } from './gbt.js';
export type { LinearOptions } from './linear.js';
export type {
  CategoryCodes,
  FeatureSpec,
  LinearModel,
  NumericScaler,
  OneHotVocabulary,
  Task,
  TrainedModel,
  Tree,
  TreeEnsembleModel,
} from './model.js';
export { type ExportOptions, exportOnnx, RESERVED_NAMES } from './onnx-export.js';
export {
  attribute,
  type Dim,
  ElementType,
  encodeModel,
  floatTensor,
  type GraphSpec,
  int64Tensor,
  mapType,
  type NodeOptions,
  node,
  sequenceType,
  tensorType,
  tensorValue,
  valueInfo,
} from './onnx-graph.js';
export { fileDigest, type LoggedTraining, type LogTrainingOptions, logTraining } from './tracking.js';
export {
  ALGORITHMS,
  type Algorithm,
  fitModel,
  predict,
  type TrainingResult,
  type TrainOptions,
  trainTabular,
} from './trainer.js';
