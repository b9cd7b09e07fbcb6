import { invalidParameter } from '../../core/errors.js';
import type { TensorSpec } from '../../registry/index.js';
import { allocate, type Datatype, elementCount, type Tensor, type TensorData } from '../runtime/tensor.js';

const INT_RANGES: Partial<Record<Datatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** Flattens nested JSON arrays (V2 allows nested or flat `data`), refusing ragged or non-array nesting. */
export function flattenData(data: unknown, what: string): unknown[] {
  if (!Array.isArray(data))
    throw invalidParameter(`${what}: expected 'data' to be an array, got ${typeName(data)}`);
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) for (const item of value) walk(item);
    else out.push(value);
  };
  walk(data);
  return out;
}

/**
 * Checks a tensor against its signature entry and converts the JSON values into typed storage. Every message
 * names the input and says what was expected and what was received.
 */
export function encodeTensor(
  spec: TensorSpec,
  input: { datatype: string; shape: readonly number[]; data: unknown },
): Tensor {
  const what = `input '${spec.name}'`;
  if (input.datatype !== spec.datatype) {
    throw invalidParameter(`${what}: expected datatype ${spec.datatype}, got ${input.datatype}`);
  }
  if (input.shape.length !== spec.shape.length) {
    throw invalidParameter(
      `${what}: expected shape [${spec.shape.join(', ')}] (rank ${spec.shape.length}), got [${input.shape.join(', ')}] (rank ${input.shape.length})`,
    );
  }
  input.shape.forEach((dim, i) => {
    const expected = spec.shape[i] as number;
    if (!Number.isInteger(dim) || dim < 0)
      throw invalidParameter(`${what}: shape dimension ${i} must be a non-negative integer, got ${dim}`);
    if (expected >= 0 && dim !== expected) {
      throw invalidParameter(
        `${what}: expected dimension ${i} to be ${expected} (shape [${spec.shape.join(', ')}]), got ${dim}`,
      );
    }
  });
  const values = flattenData(input.data, what);
  const count = elementCount(input.shape);
  if (values.length !== count) {
    throw invalidParameter(
      `${what}: shape [${input.shape.join(', ')}] needs ${count} elements, got ${values.length}`,
    );
  }
  return {
    datatype: spec.datatype as Datatype,
    shape: [...input.shape],
    data: convertValues(spec.datatype as Datatype, values, what),
  };
}

function convertValues(datatype: Datatype, values: unknown[], what: string): TensorData {
  const data = allocate(datatype, values.length);
  const bad = (i: number, expected: string): never => {
    throw invalidParameter(
      `${what}: element ${i} must be ${expected} for ${datatype}, got ${JSON.stringify(values[i]) ?? typeName(values[i])}`,
    );
  };
  switch (datatype) {
    case 'BYTES': {
      const out = data as string[];
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'string') bad(i, 'a string');
        out[i] = v as string;
      }
      return out;
    }
    case 'BOOL': {
      const out = data as Uint8Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') bad(i, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'FP32':
    case 'FP64':
    case 'FP16': {
      const out =
        datatype === 'FP16' ? new Float32Array(values.length) : (data as Float32Array | Float64Array);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        // JSON has no NaN, so a NaN here was put in by the server itself: a missing feature value (endpoint
        // enrichment), which models read as missing. An infinity can only come from overflow, and is refused.
        if (typeof v !== 'number' || v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY)
          bad(i, 'a finite number (NaN is not allowed)');
        out[i] = v as number;
      }
      if (datatype === 'FP16') {
        const halves = data as Uint16Array;
        for (let i = 0; i < out.length; i++) halves[i] = toHalf(out[i] as number);
        return halves;
      }
      return out;
    }
    default: {
      const [min, max] = INT_RANGES[datatype] as [number, number];
      const isBig = datatype === 'INT64' || datatype === 'UINT64';
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
          bad(i, `an integer in [${min}, ${max}]`);
        if (isBig) (data as BigInt64Array)[i] = BigInt(v as number);
        else (data as Int32Array)[i] = v as number;
      }
      return data;
    }
  }
}

/** A tensor's data as JSON values (int64 as numbers, FP16 decoded). */
export function tensorToJson(tensor: Tensor): (number | string | boolean)[] {
  const { data, datatype } = tensor;
  if (Array.isArray(data)) return data;
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (datatype === 'FP16') return Array.from(data as Uint16Array, fromHalf);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return Array.from(data as Float32Array);
}

const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 to binary16 bits, round to nearest even. */
function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const m = (mantissa | 0x800000) >> (1 - exponent);
    return sign | ((m + 0x1000) >> 13);
  }
  const half = sign | (exponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half;
}

function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
