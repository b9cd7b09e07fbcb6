/**
 * A small ONNX graph builder over onnx-proto's generated classes: value infos of any type, initializers, nodes
 * with attributes, opset imports. The trainer exports its models with it and the test fixtures are built with
 * it. It does not check graphs: ONNX Runtime is the judge of what it builds.
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

/** A tensor type; without a shape the rank is unknown. `elemType` is a number so callers can use newer types. */
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
  values: ArrayLike<number>,
): TensorProto => ({
  name,
  dataType: ElementType.FLOAT,
  dims: [...dims],
  floatData: Array.from(values),
});

export const int64Tensor = (
  name: string,
  dims: readonly number[],
  values: ArrayLike<number>,
): TensorProto => ({
  name,
  dataType: ElementType.INT64,
  dims: [...dims],
  int64Data: Array.from(values),
});

const utf8 = new TextEncoder();
const { AttributeType } = onnx.AttributeProto;

/** Node attributes, one constructor per ONNX attribute type (a JS number cannot say whether it is INT or FLOAT). */
export const attribute = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: ArrayLike<number>): AttributeProto => ({
    name,
    type: AttributeType.INTS,
    ints: Array.from(ints),
  }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  floats: (name: string, floats: ArrayLike<number>): AttributeProto => ({
    name,
    type: AttributeType.FLOATS,
    floats: Array.from(floats),
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
  /** `producer_name` of the model; default 'slipway'. */
  producer?: string;
  /** `metadata_props` of the model (free text key/values any ONNX reader shows). */
  metadata?: Record<string, string>;
}

/** Encodes a ModelProto (IR version 8) holding the graph; the same spec always gives the same bytes. */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: spec.producer ?? 'slipway',
    opsetImport: Object.entries(spec.opsets).map(([domain, version]) => ({ domain, version })),
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
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
