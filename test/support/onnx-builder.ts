/**
 * A small ONNX graph builder over onnx-proto's generated classes, for tests and for scripts/make-fixtures.ts.
 * It builds what the tests need (value infos of any type, initializers, nodes with attributes, opset imports)
 * and three reference models; it does not check graphs, so ONNX Runtime is the judge of what it builds.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type ValueInfo = onnxProto.onnx.IValueInfoProto;
type TypeProto = onnxProto.onnx.ITypeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type NodeProto = onnxProto.onnx.INodeProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

/** ONNX element types (TensorProto.DataType) by name, e.g. `ElementType.FLOAT`. */
export const ElementType = onnx.TensorProto.DataType;

/** A dimension: a size, or a string for a symbolic (dynamic) dimension such as the batch `'N'`. */
export type Dim = number | string;

/** A tensor type; without a shape the rank is unknown. `elemType` is a number so tests can use newer types. */
export function tensorType(elemType: number, shape?: readonly Dim[]): TypeProto {
  if (shape === undefined) return { tensorType: { elemType } };
  const dim = shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { tensorType: { elemType, shape: { dim } } };
}

export const sequenceType = (elemType: TypeProto): TypeProto => ({ sequenceType: { elemType } });

export const mapType = (keyType: number, valueType: TypeProto): TypeProto => ({
  mapType: { keyType, valueType },
});

export const valueInfo = (name: string, type: TypeProto): ValueInfo =>
  onnx.ValueInfoProto.create({ name, type });

export const tensorValue = (name: string, elemType: number, shape?: readonly Dim[]): ValueInfo =>
  valueInfo(name, tensorType(elemType, shape));

export const floatTensor = (
  name: string,
  dims: readonly number[],
  values: readonly number[],
): TensorProto => ({
  name,
  dataType: ElementType.FLOAT,
  dims: [...dims],
  floatData: [...values],
});

export const int64Tensor = (
  name: string,
  dims: readonly number[],
  values: readonly number[],
): TensorProto => ({
  name,
  dataType: ElementType.INT64,
  dims: [...dims],
  int64Data: [...values],
});

const utf8 = new TextEncoder();
const { AttributeType } = onnx.AttributeProto;

/** Node attributes, one constructor per ONNX attribute type (a JS number cannot say whether it is INT or FLOAT). */
export const attribute = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: readonly number[]): AttributeProto => ({
    name,
    type: AttributeType.INTS,
    ints: [...ints],
  }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  floats: (name: string, floats: readonly number[]): AttributeProto => ({
    name,
    type: AttributeType.FLOATS,
    floats: [...floats],
  }),
  string: (name: string, s: string): AttributeProto => ({
    name,
    type: AttributeType.STRING,
    s: utf8.encode(s),
  }),
  strings: (name: string, strings: readonly string[]): AttributeProto => ({
    name,
    type: AttributeType.STRINGS,
    strings: strings.map((s) => utf8.encode(s)),
  }),
};

export interface NodeOptions {
  /** Operator domain: '' (default ONNX) or e.g. 'ai.onnx.ml'. */
  domain?: string;
  attributes?: AttributeProto[];
}

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: NodeOptions = {},
): NodeProto {
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    ...(options.attributes === undefined ? {} : { attribute: options.attributes }),
  };
}

export interface GraphSpec {
  name: string;
  nodes: NodeProto[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: TensorProto[];
  /** Operator set version by domain ('' is the default ONNX domain). */
  opsets: Record<string, number>;
}

/** Encodes a ModelProto (IR version 8) holding the graph; the same spec always gives the same bytes. */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'slipway-fixtures',
    opsetImport: Object.entries(spec.opsets).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: spec.name,
      node: spec.nodes,
      initializer: spec.initializers ?? [],
      input: spec.inputs,
      output: spec.outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

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
