/** Tensors as the serving layer handles them: Open Inference Protocol datatypes, row-major data. */

import type { TensorDatatype } from '../../registry/index.js';

/** The Open Inference Protocol datatypes, as model signatures in the registry declare them. */
export type Datatype = TensorDatatype;

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

export interface Tensor {
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

export type TensorMap = Record<string, Tensor>;

/** ONNX Runtime's type names for each datatype (FP16 travels as raw Uint16 bits). */
export const ORT_TYPE: Record<Datatype, string> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

export const DATATYPE_OF_ORT: Record<string, Datatype> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([datatype, ort]) => [ort, datatype as Datatype]),
);

/** Allocates typed storage for `count` elements of a datatype. */
export function allocate(datatype: Datatype, count: number): TensorData {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(count);
    case 'UINT16':
    case 'FP16':
      return new Uint16Array(count);
    case 'UINT32':
      return new Uint32Array(count);
    case 'UINT64':
      return new BigUint64Array(count);
    case 'INT8':
      return new Int8Array(count);
    case 'INT16':
      return new Int16Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'INT64':
      return new BigInt64Array(count);
    case 'FP32':
      return new Float32Array(count);
    case 'FP64':
      return new Float64Array(count);
    case 'BYTES':
      return new Array<string>(count).fill('');
  }
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Concatenates tensors along the first (batch) dimension. All must share datatype and trailing dims. */
export function concatRows(tensors: readonly Tensor[]): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new Error('concatRows needs at least one tensor');
  if (tensors.length === 1) return first;
  const rows = tensors.reduce((n, t) => n + (t.shape[0] ?? 1), 0);
  const shape = [rows, ...first.shape.slice(1)];
  const data = allocate(first.datatype, elementCount(shape));
  let offset = 0;
  for (const t of tensors) {
    if (Array.isArray(data)) {
      for (let i = 0; i < t.data.length; i++) data[offset + i] = (t.data as string[])[i] as string;
    } else {
      (data as Float32Array).set(t.data as Float32Array, offset);
    }
    offset += t.data.length;
  }
  return { datatype: first.datatype, shape, data };
}

/** Splits a batched tensor back into parts of the given row counts, in order. */
export function splitRows(tensor: Tensor, rowCounts: readonly number[]): Tensor[] {
  if (rowCounts.length === 1) return [tensor];
  const perRow = elementCount(tensor.shape.slice(1));
  const parts: Tensor[] = [];
  let offset = 0;
  for (const rows of rowCounts) {
    const end = offset + rows * perRow;
    const data = Array.isArray(tensor.data)
      ? tensor.data.slice(offset, end)
      : (tensor.data as Float32Array).slice(offset, end);
    parts.push({ datatype: tensor.datatype, shape: [rows, ...tensor.shape.slice(1)], data });
    offset = end;
  }
  return parts;
}
