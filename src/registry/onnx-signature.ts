import onnxProto from 'onnx-proto';
import { invalidParameter } from '../core/errors.js';

const { onnx } = onnxProto;

export type TensorDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** One input or output: its name, Open Inference Protocol datatype and shape (-1 for a dynamic dimension). */
export interface TensorSpec {
  name: string;
  datatype: TensorDatatype;
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Outputs that are maps or sequences of maps (sklearn's ZipMap): not servable as tensors. */
  mapOutputs: string[];
  /** Operator set versions by domain ('' is the default ONNX domain). */
  opsets: Record<string, number>;
}

const DATATYPES: Record<number, TensorDatatype> = {
  1: 'FP32',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'BYTES',
  9: 'BOOL',
  10: 'FP16',
  11: 'FP64',
  12: 'UINT32',
  13: 'UINT64',
};

const ELEMENT_NAMES: Record<number, string> = { 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16' };

type ValueInfo = InstanceType<typeof onnx.ValueInfoProto>;

/**
 * Reads a model's inputs and outputs from its ONNX bytes. Inputs that are also initializers (constants older
 * exporters list as graph inputs) are not model inputs.
 */
export function readOnnxSignature(model: Uint8Array): ModelSignature {
  let decoded: InstanceType<typeof onnx.ModelProto>;
  try {
    if (model.length === 0) throw new Error('the file is empty');
    decoded = onnx.ModelProto.decode(model);
  } catch (error) {
    throw invalidParameter(
      `The model file is not a valid ONNX model: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const graph = decoded.graph;
  if (
    graph === null ||
    graph === undefined ||
    (graph.input ?? []).length + (graph.output ?? []).length === 0
  ) {
    throw invalidParameter('The model file is not a valid ONNX model: it has no graph inputs or outputs');
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const mapOutputs: string[] = [];
  const inputs = (graph.input ?? [])
    .filter((value) => !initializers.has(value.name ?? ''))
    .map((value) => {
      const spec = tensorSpec(value as ValueInfo, 'input');
      if (spec === undefined)
        throw invalidParameter(`Model input '${value.name}' is not a tensor; Slipway serves tensor inputs`);
      return spec;
    });
  const outputs: TensorSpec[] = [];
  for (const value of graph.output ?? []) {
    const spec = tensorSpec(value as ValueInfo, 'output');
    if (spec === undefined) mapOutputs.push(value.name ?? '');
    else outputs.push(spec);
  }
  const opsets: Record<string, number> = {};
  for (const opset of decoded.opsetImport ?? []) opsets[opset.domain ?? ''] = Number(opset.version ?? 0);
  return { inputs, outputs, mapOutputs, opsets };
}

/** A tensor's spec, or undefined for sequence/map values. */
function tensorSpec(value: ValueInfo, direction: 'input' | 'output'): TensorSpec | undefined {
  const type = value.type;
  const tensor = type?.tensorType;
  if (tensor === null || tensor === undefined) {
    if (type?.sequenceType != null || type?.mapType != null) return undefined;
    throw invalidParameter(`Model ${direction} '${value.name}' has no tensor type`);
  }
  const elemType = Number(tensor.elemType ?? 0);
  const datatype = DATATYPES[elemType];
  if (datatype === undefined) {
    throw invalidParameter(
      `Model ${direction} '${value.name}' has element type ${ELEMENT_NAMES[elemType] ?? elemType}, which the Open Inference Protocol cannot carry`,
    );
  }
  const dims = tensor.shape?.dim ?? [];
  const shape = dims.map((dim) => {
    const size = dim.dimValue === null || dim.dimValue === undefined ? undefined : Number(dim.dimValue);
    return size === undefined || size <= 0 || dim.dimParam ? -1 : size;
  });
  return { name: value.name ?? '', datatype, shape };
}
