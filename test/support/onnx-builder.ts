/**
 * Reference ONNX models for tests and scripts/make-fixtures.ts, built with the project's graph builder
 * (src/training/onnx-graph.ts, re-exported here); ONNX Runtime is the judge of what it builds.
 */
import {
  attribute,
  ElementType,
  encodeModel as encodeGraph,
  floatTensor,
  type GraphSpec,
  mapType,
  node,
  sequenceType,
  tensorType,
  tensorValue,
  valueInfo,
} from '../../src/training/onnx-graph.js';

// The graph builder lives in src/training (the trainer exports its models with it); tests and
// scripts/make-fixtures.ts use it from here, with `encodeModel` below in place of the builder's own.
export * from '../../src/training/onnx-graph.js';

/** Encodes a fixture model; the producer name stays 'slipway-fixtures' so the committed bytes do not change. */
export const encodeModel = (spec: GraphSpec): Uint8Array =>
  encodeGraph({ producer: 'slipway-fixtures', ...spec });

const { FLOAT, INT64, STRING } = ElementType;

export const LINEAR_WEIGHTS: readonly number[] = [0.5, -1.25, 2];
export const LINEAR_BIAS = 0.75;

/** y = x·W + b with LINEAR_WEIGHTS and LINEAR_BIAS: `x` FP32 [N, 3] in, `y` FP32 [N, 1] out. */
export function linearModel(): Uint8Array {
  return encodeModel({
    name: 'linear',
    nodes: [node('MatMul', ['x', 'W'], ['xw']), node('Add', ['xw', 'b'], ['y'])],
    initializers: [
      floatTensor('W', [LINEAR_WEIGHTS.length, 1], LINEAR_WEIGHTS),
      floatTensor('b', [1], [LINEAR_BIAS]),
    ],
    inputs: [tensorValue('x', FLOAT, ['N', LINEAR_WEIGHTS.length])],
    outputs: [tensorValue('y', FLOAT, ['N', 1])],
    opsets: { '': 13 },
  });
}

/** Row-major [class][feature] coefficients of the ZipMap classifier: 2 classes (0, 1) over 3 features. */
export const CLASSIFIER_COEFFICIENTS: readonly number[] = [0.3, -0.2, 0.1, -0.3, 0.2, -0.1];
export const CLASSIFIER_INTERCEPTS: readonly number[] = [0.05, -0.05];

/**
 * Logistic regression as scikit-learn exports it by default: ai.onnx.ml LinearClassifier then ZipMap, so
 * `label` is INT64 [N] and `probabilities` a sequence of map(int64, float), which cannot be served as tensors.
 */
export function zipmapClassifier(): Uint8Array {
  return encodeModel({
    name: 'logreg_zipmap',
    nodes: [
      node('LinearClassifier', ['x'], ['label', 'scores'], {
        domain: 'ai.onnx.ml',
        attributes: [
          attribute.floats('coefficients', CLASSIFIER_COEFFICIENTS),
          attribute.floats('intercepts', CLASSIFIER_INTERCEPTS),
          attribute.ints('classlabels_ints', [0, 1]),
          attribute.string('post_transform', 'SOFTMAX'),
        ],
      }),
      node('ZipMap', ['scores'], ['probabilities'], {
        domain: 'ai.onnx.ml',
        attributes: [attribute.ints('classlabels_int64s', [0, 1])],
      }),
    ],
    inputs: [tensorValue('x', FLOAT, ['N', 3])],
    outputs: [
      tensorValue('label', INT64, ['N']),
      valueInfo('probabilities', sequenceType(mapType(INT64, tensorType(FLOAT)))),
    ],
    opsets: { '': 13, 'ai.onnx.ml': 1 },
  });
}

/** The codes ai.onnx.ml LabelEncoder gives the categorical model's `city`; any other city is -1. */
export const CITY_CODES: Readonly<Record<string, number>> = { SEA: 0, SFO: 1, JFK: 2 };

/** A BYTES input: `code` = LabelEncoder(city) INT64 [N, 1], beside a numeric one: `total` = amount + amount. */
export function categoricalModel(): Uint8Array {
  return encodeModel({
    name: 'categorical',
    nodes: [
      node('LabelEncoder', ['city'], ['code'], {
        domain: 'ai.onnx.ml',
        attributes: [
          attribute.strings('keys_strings', Object.keys(CITY_CODES)),
          attribute.ints('values_int64s', Object.values(CITY_CODES)),
          attribute.int('default_int64', -1),
        ],
      }),
      node('Add', ['amount', 'amount'], ['total']),
    ],
    inputs: [tensorValue('city', STRING, ['N', 1]), tensorValue('amount', FLOAT, ['N', 1])],
    outputs: [tensorValue('code', INT64, ['N', 1]), tensorValue('total', FLOAT, ['N', 1])],
    opsets: { '': 13, 'ai.onnx.ml': 2 },
  });
}
