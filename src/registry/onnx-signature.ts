import onnxProto from 'onnx-proto';
import { invalidParameter } from '../core/errors.js';

const { onnx } = onnxProto;

/** Open Inference Protocol (KServe V2) tensor datatypes. */
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
  /** Outputs that are maps or sequences (of maps, as sklearn's ZipMap gives): not servable as tensors. */
  mapOutputs: string[];
  /** Operator set versions by domain ('' is the default ONNX domain, also when a model spells it 'ai.onnx'). */
  opsets: Record<string, number>;
}

/** Whether every input's first dimension is dynamic, so requests may be stacked into one batch along it. */
export function batchesOnFirstDimension(signature: Pick<ModelSignature, 'inputs'>): boolean {
  return signature.inputs.every((spec) => spec.shape[0] === -1);
}

type ValueInfo = onnxProto.onnx.IValueInfoProto;
type Direction = 'input' | 'output';

/** ONNX TensorProto.DataType -> V2 datatype; STRING travels as BYTES. */
const DATATYPES: Readonly<Record<number, TensorDatatype>> = {
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

// onnx-proto 8 ships ONNX 1.10's enum, which stops at BFLOAT16; the later names come from onnx.proto itself.
const UNSUPPORTED_ELEMENT_TYPES: Readonly<Record<number, string>> = {
  0: 'UNDEFINED',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
  23: 'FLOAT4E2M1',
};

/**
 * Reads a model's signature from its ONNX bytes (a serialized ModelProto). Graph inputs that are also
 * initializers (constants that older exporters list as inputs) are not model inputs. Sequence and map outputs
 * (ZipMap) go to `mapOutputs`, not `outputs`, so serving can refuse them with advice.
 *
 * @throws SlipwayError INVALID_PARAMETER_VALUE when the bytes are not an ONNX model, when an input is not a
 *   tensor, or when a tensor's element type has no Open Inference Protocol datatype (complex, bfloat16, float8...).
 */
export function readOnnxSignature(model: Uint8Array): ModelSignature {
  const { graph, opsets } = decodeModel(model);
  const initializers = new Set((graph.initializer ?? []).map((tensor) => tensor.name ?? ''));
  const inputs = (graph.input ?? [])
    .filter((value) => !initializers.has(value.name ?? ''))
    .map((value) => {
      const spec = tensorSpec(value, 'input');
      if (spec === undefined) {
        throw invalidParameter(
          `Model input '${value.name ?? ''}' is a ${typeKind(value)}, not a tensor; Slipway serves tensor inputs only`,
        );
      }
      return spec;
    });
  const outputs: TensorSpec[] = [];
  const mapOutputs: string[] = [];
  for (const value of graph.output ?? []) {
    const spec = tensorSpec(value, 'output');
    if (spec === undefined) mapOutputs.push(value.name ?? '');
    else outputs.push(spec);
  }
  return { inputs, outputs, mapOutputs, opsets };
}

function decodeModel(bytes: Uint8Array): {
  graph: onnxProto.onnx.IGraphProto;
  opsets: Record<string, number>;
} {
  const invalid = (reason: string) => invalidParameter(`The model file is not a valid ONNX model: ${reason}`);
  if (bytes.length === 0) throw invalid('the file is empty');
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  // Protobuf decodes many byte strings without complaint (unknown fields are skipped), so also require what
  // every ONNX model has: an IR version and a graph with at least one output.
  if (toNumber(model.irVersion) <= 0) throw invalid('it has no IR version');
  const graph = model.graph;
  if (graph === null || graph === undefined) throw invalid('it has no graph');
  if ((graph.output ?? []).length === 0) throw invalid('its graph has no outputs');
  const opsets: Record<string, number> = {};
  for (const opset of model.opsetImport) {
    const domain = opset.domain === 'ai.onnx' ? '' : (opset.domain ?? '');
    opsets[domain] = toNumber(opset.version);
  }
  return { graph, opsets };
}

/** A tensor's spec, or undefined for a sequence or map value. */
function tensorSpec(value: ValueInfo, direction: Direction): TensorSpec | undefined {
  const name = value.name ?? '';
  const type = value.type;
  const tensor = type?.tensorType;
  if (tensor === null || tensor === undefined) {
    if (isPresent(type?.sequenceType) || isPresent(type?.mapType)) return undefined;
    throw invalidParameter(
      `Model ${direction} '${name}' is a ${typeKind(value)}; Slipway serves tensors (and lists maps apart)`,
    );
  }
  const elemType = tensor.elemType ?? 0;
  const datatype = DATATYPES[elemType];
  if (datatype === undefined) {
    const typeName = UNSUPPORTED_ELEMENT_TYPES[elemType] ?? `number ${elemType}`;
    throw invalidParameter(
      `Model ${direction} '${name}' has ONNX element type ${typeName}, which has no Open Inference Protocol ` +
        `datatype; expected one of ${Object.values(DATATYPES).join(', ')} (export it as FP32, for instance)`,
    );
  }
  const shape = (tensor.shape?.dim ?? []).map((dim) => {
    const size = dim.dimValue === null || dim.dimValue === undefined ? -1 : toNumber(dim.dimValue);
    // Symbolic dims (dim_param) and dims with no value are dynamic; some exporters also write 0 or -1 for them.
    return size > 0 ? size : -1;
  });
  return { name, datatype, shape };
}

/** What kind of type a value has, for error messages. */
function typeKind(value: ValueInfo): string {
  const type = value.type;
  if (type === null || type === undefined) return 'value with no type';
  if (isPresent(type.sequenceType)) return 'sequence';
  if (isPresent(type.mapType)) return 'map';
  if (isPresent(type.optionalType)) return 'optional value';
  if (isPresent(type.sparseTensorType)) return 'sparse tensor';
  if (isPresent(type.tensorType)) return 'tensor';
  return 'value of an unknown type';
}

const isPresent = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;

/**
 * onnx-proto decodes int64 fields as `Long` objects (numbers when built in memory); Number() reads a Long
 * through its decimal toString, exactly for the sizes and versions found in a signature.
 */
const toNumber = (value: number | { toString(): string } | null | undefined): number =>
  value === null || value === undefined ? 0 : Number(value);
