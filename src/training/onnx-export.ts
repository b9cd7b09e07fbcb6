import type { LinearModel, TrainedModel, TreeEnsembleModel } from './model.js';
import {
  attribute,
  ElementType,
  encodeModel,
  floatTensor,
  int64Tensor,
  node,
  tensorValue,
} from './onnx-graph.js';

const { FLOAT, INT64, STRING } = ElementType;
const ML = 'ai.onnx.ml';

/** Output names the served model answers with; a feature may not take one of them. */
export const RESERVED_NAMES: readonly string[] = ['label', 'probabilities', 'variable'];

type Nodes = ReturnType<typeof node>[];
type Initializers = ReturnType<typeof floatTensor>[];

export interface ExportOptions {
  /** Graph name; default 'slipway_model'. */
  name?: string;
  /** Free-text metadata written into the model's metadata_props (e.g. the label column). */
  metadata?: Record<string, string>;
}

/**
 * Writes a trained model as ONNX, preprocessing included, so the served model takes raw features: one input
 * per feature, shape [N, 1], FLOAT for numerics and STRING for categoricals. Classifiers answer `label`
 * (INT64 [N], 1 when P(class 1) >= 0.5) and `probabilities` (FLOAT [N, 2]); regressors answer `variable`
 * (FLOAT [N, 1]). No ZipMap: serving returns tensors only.
 */
export function exportOnnx(model: TrainedModel, options: ExportOptions = {}): Uint8Array {
  const nodes: Nodes = [];
  const initializers: Initializers = [];
  // Internal names carry a prefix no column name is likely to have, so they never collide with inputs.
  const internal = (name: string): string => `_slipway/${name}`;
  const columns =
    model.kind === 'linear'
      ? linearPreprocessing(model, nodes, initializers, internal)
      : treePreprocessing(model, nodes, internal);
  const features = internal('features');
  nodes.push(node('Concat', columns, [features], { attributes: [attribute.int('axis', 1)] }));

  const score = model.task === 'classification' ? internal('logit') : 'variable';
  if (model.kind === 'linear') {
    const width = model.weights.length;
    initializers.push(floatTensor(internal('W'), [width, 1], model.weights));
    initializers.push(floatTensor(internal('b'), [1], [model.bias]));
    nodes.push(node('MatMul', [features, internal('W')], [internal('xw')]));
    nodes.push(node('Add', [internal('xw'), internal('b')], [score]));
  } else {
    nodes.push(treeEnsemble(model, features, score));
  }

  const outputs = [];
  if (model.task === 'classification') {
    const p1 = internal('p1');
    const p0 = internal('p0');
    initializers.push(floatTensor(internal('one'), [1], [1]), floatTensor(internal('half'), [1], [0.5]));
    initializers.push(int64Tensor(internal('flat'), [1], [-1]));
    nodes.push(
      node('Sigmoid', [score], [p1]),
      node('Sub', [internal('one'), p1], [p0]),
      node('Concat', [p0, p1], ['probabilities'], { attributes: [attribute.int('axis', 1)] }),
      node('GreaterOrEqual', [p1, internal('half')], [internal('positive')]),
      node('Cast', [internal('positive')], [internal('label2d')], {
        attributes: [attribute.int('to', INT64)],
      }),
      node('Reshape', [internal('label2d'), internal('flat')], ['label']),
    );
    outputs.push(tensorValue('label', INT64, ['N']), tensorValue('probabilities', FLOAT, ['N', 2]));
  } else {
    outputs.push(tensorValue('variable', FLOAT, ['N', 1]));
  }

  return encodeModel({
    name: options.name ?? 'slipway_model',
    nodes,
    initializers,
    inputs: [
      ...model.features.numeric.map((name) => tensorValue(name, FLOAT, ['N', 1])),
      ...model.features.categorical.map((name) => tensorValue(name, STRING, ['N', 1])),
    ],
    outputs,
    opsets: { '': 13, [ML]: 3 },
    metadata: {
      'slipway.task': model.task,
      'slipway.algorithm':
        model.kind === 'linear' ? (model.task === 'classification' ? 'logreg' : 'linear') : 'gbt',
      ...options.metadata,
    },
  });
}

/** Missing numerics → mean, then (x - mean) / std; categoricals → one-hot over the vocabulary (unseen: zeros). */
function linearPreprocessing(
  model: LinearModel,
  nodes: Nodes,
  initializers: Initializers,
  internal: (name: string) => string,
): string[] {
  const columns: string[] = [];
  model.scalers.forEach((scaler, i) => {
    const mean = internal(`mean${i}`);
    const std = internal(`std${i}`);
    initializers.push(floatTensor(mean, [1], [scaler.mean]), floatTensor(std, [1], [scaler.std]));
    const out = internal(`num${i}`);
    nodes.push(
      node('IsNaN', [scaler.name], [internal(`nan${i}`)]),
      node('Where', [internal(`nan${i}`), mean, scaler.name], [internal(`filled${i}`)]),
      node('Sub', [internal(`filled${i}`), mean], [internal(`centered${i}`)]),
      node('Div', [internal(`centered${i}`), std], [out]),
    );
    columns.push(out);
  });
  model.vocabularies.forEach((vocabulary, i) => {
    if (vocabulary.categories.length === 0) return;
    const codes = vocabulary.categories.map((_, k) => k);
    const range = internal(`range${i}`);
    initializers.push(int64Tensor(range, [codes.length], codes));
    const out = internal(`onehot${i}`);
    nodes.push(
      node('LabelEncoder', [vocabulary.name], [internal(`code${i}`)], {
        domain: ML,
        attributes: [
          attribute.strings('keys_strings', vocabulary.categories),
          attribute.ints('values_int64s', codes),
          attribute.int('default_int64', -1),
        ],
      }),
      // [N, 1] == [K] broadcasts to [N, K]: a row's column k is 1 exactly when its code is k; -1 matches none.
      node('Equal', [internal(`code${i}`), range], [internal(`hot${i}`)]),
      node('Cast', [internal(`hot${i}`)], [out], { attributes: [attribute.int('to', FLOAT)] }),
    );
    columns.push(out);
  });
  return columns;
}

/** Numerics pass through raw (trees need no scaling; NaN takes the right branch); categoricals → ordered codes. */
function treePreprocessing(
  model: TreeEnsembleModel,
  nodes: Nodes,
  internal: (name: string) => string,
): string[] {
  const codes = model.encoders.map((encoder, i) => {
    const out = internal(`code${i}`);
    nodes.push(
      node('LabelEncoder', [encoder.name], [out], {
        domain: ML,
        attributes: [
          attribute.strings('keys_strings', encoder.categories.length > 0 ? encoder.categories : ['']),
          attribute.floats(
            'values_floats',
            encoder.categories.length > 0 ? encoder.categories.map((_, k) => k) : [encoder.unseenCode],
          ),
          attribute.float('default_float', encoder.unseenCode),
        ],
      }),
    );
    return out;
  });
  return [...model.features.numeric, ...codes];
}

/** ai.onnx.ml TreeEnsembleRegressor summing the trees' leaves onto the base score: the raw score [N, 1]. */
function treeEnsemble(model: TreeEnsembleModel, input: string, output: string) {
  const nodeTree: number[] = [];
  const nodeId: number[] = [];
  const nodeFeature: number[] = [];
  const nodeMode: string[] = [];
  const nodeValue: number[] = [];
  const nodeTrue: number[] = [];
  const nodeFalse: number[] = [];
  const targetTree: number[] = [];
  const targetNode: number[] = [];
  const targetWeight: number[] = [];
  model.trees.forEach((tree, t) => {
    for (let i = 0; i < tree.feature.length; i++) {
      const leaf = (tree.feature[i] as number) < 0;
      nodeTree.push(t);
      nodeId.push(i);
      nodeFeature.push(leaf ? 0 : (tree.feature[i] as number));
      nodeMode.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      nodeValue.push(leaf ? 0 : (tree.threshold[i] as number));
      nodeTrue.push(leaf ? 0 : (tree.left[i] as number));
      nodeFalse.push(leaf ? 0 : (tree.right[i] as number));
      if (leaf) {
        targetTree.push(t);
        targetNode.push(i);
        targetWeight.push(tree.value[i] as number);
      }
    }
  });
  return node('TreeEnsembleRegressor', [input], [output], {
    domain: ML,
    attributes: [
      attribute.ints('nodes_treeids', nodeTree),
      attribute.ints('nodes_nodeids', nodeId),
      attribute.ints('nodes_featureids', nodeFeature),
      attribute.strings('nodes_modes', nodeMode),
      attribute.floats('nodes_values', nodeValue),
      attribute.ints('nodes_truenodeids', nodeTrue),
      attribute.ints('nodes_falsenodeids', nodeFalse),
      attribute.ints('target_treeids', targetTree),
      attribute.ints('target_nodeids', targetNode),
      attribute.ints(
        'target_ids',
        targetTree.map(() => 0),
      ),
      attribute.floats('target_weights', targetWeight),
      attribute.int('n_targets', 1),
      attribute.floats('base_values', [model.baseScore]),
      attribute.string('aggregate_function', 'SUM'),
      attribute.string('post_transform', 'NONE'),
    ],
  });
}
