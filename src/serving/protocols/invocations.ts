import { invalidParameter } from '../../core/errors.js';
import type { ModelSignature, TensorSpec } from '../../registry/index.js';
import type { TensorMap } from '../runtime/tensor.js';
import { encodeTensor, tensorToJson } from './tensor-codec.js';

type Row = Record<string, unknown>;

export interface DecodedInvocation {
  inputs: TensorMap;
  rows: number;
  /** DataFrame inputs answer records (one object per row); tensor inputs answer arrays. */
  format: 'dataframe' | 'tensor';
}

/**
 * MLflow's scoring protocol (`POST /invocations`): `dataframe_split`, `dataframe_records`, `instances` or
 * `inputs`. A DataFrame maps to the model's inputs by column name when every input has a column; otherwise a
 * single-input model takes the columns, in order, as the features of one matrix.
 */
export function decodeInvocation(body: unknown, signature: ModelSignature): DecodedInvocation {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidParameter(
      "Invalid input. The request body must be a JSON object with one of the keys 'dataframe_split', 'dataframe_records', 'instances' or 'inputs'",
    );
  }
  const keys = Object.keys(body).filter((k) => k !== 'params');
  const formats = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'];
  const found = keys.filter((k) => formats.includes(k));
  if (found.length !== 1) {
    throw invalidParameter(
      `Invalid input. The request body must have exactly one of ${formats.map((f) => `'${f}'`).join(', ')}; got ${keys.map((k) => `'${k}'`).join(', ') || 'none'}`,
    );
  }
  const format = found[0] as string;
  const value = (body as Record<string, unknown>)[format];
  switch (format) {
    case 'dataframe_split':
      return fromColumns(splitToColumns(value), signature);
    case 'dataframe_records':
      return fromColumns(recordsToColumns(value, 'dataframe_records'), signature);
    default:
      return fromTensors(value, signature, format);
  }
}

function splitToColumns(value: unknown): { columns: string[]; rows: unknown[][] } {
  const split = value as { columns?: unknown; data?: unknown };
  if (split === null || typeof split !== 'object' || !Array.isArray(split.data)) {
    throw invalidParameter("dataframe_split: expected an object with 'columns' and 'data' arrays");
  }
  const rows = split.data as unknown[];
  const firstRow = rows[0];
  const width = Array.isArray(firstRow) ? firstRow.length : 0;
  const columns = Array.isArray(split.columns)
    ? split.columns.map(String)
    : Array.from({ length: width }, (_, i) => String(i));
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== columns.length) {
      throw invalidParameter(
        `dataframe_split: row ${i} must be an array of ${columns.length} values (one per column)`,
      );
    }
  });
  return { columns, rows: rows as unknown[][] };
}

function recordsToColumns(value: unknown, what: string): { columns: string[]; rows: unknown[][] } {
  if (!Array.isArray(value) || value.length === 0)
    throw invalidParameter(`${what}: expected a non-empty array of records`);
  const first = value[0];
  if (first === null || typeof first !== 'object' || Array.isArray(first)) {
    throw invalidParameter(`${what}: expected records (objects keyed by column name)`);
  }
  const columns = Object.keys(first as Row);
  const rows = value.map((record, i) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw invalidParameter(`${what}: record ${i} is not an object`);
    }
    return columns.map((column) => {
      if (!(column in (record as Row)))
        throw invalidParameter(`${what}: record ${i} has no column '${column}'`);
      return (record as Row)[column];
    });
  });
  return { columns, rows };
}

function fromColumns(
  frame: { columns: string[]; rows: unknown[][] },
  signature: ModelSignature,
): DecodedInvocation {
  const { columns, rows } = frame;
  if (rows.length === 0) throw invalidParameter('The DataFrame has no rows');
  const index = new Map(columns.map((c, i) => [c, i]));
  const inputs: TensorMap = {};
  if (signature.inputs.every((spec) => index.has(spec.name))) {
    for (const spec of signature.inputs) {
      const i = index.get(spec.name) as number;
      inputs[spec.name] = encodeTensor(spec, {
        datatype: spec.datatype,
        shape: columnShape(spec, rows.length),
        data: rows.map((row) => row[i]),
      });
    }
    return { inputs, rows: rows.length, format: 'dataframe' };
  }
  const [only] = signature.inputs;
  if (signature.inputs.length !== 1 || only === undefined) {
    const missing = signature.inputs.filter((spec) => !index.has(spec.name)).map((s) => `'${s.name}'`);
    throw invalidParameter(`The DataFrame lacks columns for the model's inputs ${missing.join(', ')}`);
  }
  const width = only.shape[1];
  if (only.shape.length !== 2 || (width !== -1 && width !== columns.length)) {
    throw invalidParameter(
      `input '${only.name}' expects shape [${only.shape.join(', ')}]; the DataFrame has ${columns.length} columns`,
    );
  }
  inputs[only.name] = encodeTensor(only, {
    datatype: only.datatype,
    shape: [rows.length, columns.length],
    data: rows,
  });
  return { inputs, rows: rows.length, format: 'dataframe' };
}

/** A column feeds an input of shape [-1] or [-1, 1]. */
const columnShape = (spec: TensorSpec, rows: number): number[] =>
  spec.shape.length === 1 ? [rows] : [rows, 1];

function fromTensors(value: unknown, signature: ModelSignature, format: string): DecodedInvocation {
  const inputs: TensorMap = {};
  const named =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Row)
      : signature.inputs.length === 1 && Array.isArray(value)
        ? { [(signature.inputs[0] as TensorSpec).name]: value }
        : undefined;
  if (named === undefined) {
    // `instances` may also be a list of records.
    if (
      Array.isArray(value) &&
      value.length > 0 &&
      typeof value[0] === 'object' &&
      !Array.isArray(value[0])
    ) {
      return fromColumns(recordsToColumns(value, format), signature);
    }
    throw invalidParameter(
      `${format}: expected an object keyed by input name, or an array for a single-input model`,
    );
  }
  let rows = 0;
  for (const spec of signature.inputs) {
    const data = named[spec.name];
    if (data === undefined) throw invalidParameter(`${format}: missing input '${spec.name}'`);
    const shape = shapeOf(data);
    inputs[spec.name] = encodeTensor(spec, { datatype: spec.datatype, shape, data });
    rows = shape[0] ?? 1;
  }
  const unknown = Object.keys(named).filter((k) => !signature.inputs.some((s) => s.name === k));
  if (unknown.length > 0)
    throw invalidParameter(`${format}: unexpected input ${unknown.map((k) => `'${k}'`).join(', ')}`);
  return { inputs, rows, format: 'tensor' };
}

/** The shape of a nested JSON array (ragged arrays fail the element count check later). */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let current = value;
  while (Array.isArray(current)) {
    shape.push(current.length);
    current = current[0];
  }
  return shape;
}

/** MLflow's response: `{"predictions": ...}`, records for DataFrame input, arrays otherwise. */
export function encodeInvocationResponse(
  outputs: TensorMap,
  order: readonly string[],
  format: 'dataframe' | 'tensor',
) {
  const names = order.filter((n) => outputs[n] !== undefined);
  const rowsOf = (name: string) => {
    const tensor = outputs[name] as NonNullable<TensorMap[string]>;
    const values = tensorToJson(tensor);
    const rows = tensor.shape[0] ?? values.length;
    const width = rows === 0 ? 0 : values.length / rows;
    return Array.from({ length: rows }, (_, r) =>
      width === 1 ? values[r] : values.slice(r * width, (r + 1) * width),
    );
  };
  if (names.length === 1) return { predictions: rowsOf(names[0] as string) };
  if (format === 'tensor') return { predictions: Object.fromEntries(names.map((n) => [n, rowsOf(n)])) };
  const columns = names.map((n) => [n, rowsOf(n)] as const);
  const rowCount = columns[0]?.[1].length ?? 0;
  return {
    predictions: Array.from({ length: rowCount }, (_, r) =>
      Object.fromEntries(columns.map(([n, values]) => [n, values[r]])),
    ),
  };
}
