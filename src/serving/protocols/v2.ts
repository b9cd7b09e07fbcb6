import { z } from 'zod';
import { invalidParameter } from '../../core/errors.js';
import { isJsonObject, isNonEmptyString, parseInputInPlace } from '../../core/request-input.js';
import { batchesOnFirstDimension, type ModelSignature } from '../../registry/index.js';
import type { TensorMap } from '../runtime/tensor.js';
import { encodeTensor, tensorToJson } from './tensor-codec.js';

const parameters = z.record(z.string(), z.unknown()).optional();

/** The Open Inference Protocol's inference request (REST). */
export const v2RequestSchema = z.object({
  id: z.string().optional(),
  parameters,
  inputs: z
    .array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.number().int().nonnegative()),
        datatype: z.string().min(1),
        parameters,
        data: z.unknown(),
      }),
    )
    .min(1, 'expected at least one input'),
  outputs: z.array(z.object({ name: z.string().min(1), parameters })).optional(),
});

/** Whether a body is a V2 request exactly as the schema would accept it (checked on every inference). */
function isWellFormedV2(body: unknown): boolean {
  if (!isJsonObject(body)) return false;
  const { id, parameters, inputs, outputs } = body;
  return (
    (id === undefined || typeof id === 'string') &&
    (parameters === undefined || isJsonObject(parameters)) &&
    Array.isArray(inputs) &&
    inputs.length > 0 &&
    inputs.every(
      (input: unknown) =>
        isJsonObject(input) &&
        isNonEmptyString(input.name) &&
        isNonEmptyString(input.datatype) &&
        (input.parameters === undefined || isJsonObject(input.parameters)) &&
        Array.isArray(input.shape) &&
        input.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0),
    ) &&
    (outputs === undefined ||
      (Array.isArray(outputs) &&
        outputs.every(
          (output: unknown) =>
            isJsonObject(output) &&
            isNonEmptyString(output.name) &&
            (output.parameters === undefined || isJsonObject(output.parameters)),
        )))
  );
}

export interface DecodedRequest {
  id?: string;
  inputs: TensorMap;
  rows: number;
  outputNames?: string[];
  /** From the `timeout` request parameter (ms), when given. */
  timeoutMs?: number;
  /** Whether requests can merge along dimension 0 (every input's first dimension is dynamic). */
  batchable: boolean;
}

/** Validates a V2 request against the version's signature and converts it to typed tensors. */
export function decodeV2Request(body: unknown, signature: ModelSignature): DecodedRequest {
  const request = parseInputInPlace(v2RequestSchema, body, isWellFormedV2);
  const byName = new Map(signature.inputs.map((spec) => [spec.name, spec]));
  const inputs: TensorMap = {};
  for (const input of request.inputs) {
    const spec = byName.get(input.name);
    if (spec === undefined) {
      throw invalidParameter(
        `unexpected input '${input.name}': the model's inputs are ${signature.inputs.map((s) => `'${s.name}'`).join(', ')}`,
      );
    }
    if (inputs[input.name] !== undefined) throw invalidParameter(`input '${input.name}' is given twice`);
    inputs[input.name] = encodeTensor(spec, input);
  }
  const missing = signature.inputs.filter((spec) => inputs[spec.name] === undefined);
  if (missing.length > 0) {
    throw invalidParameter(
      `missing input${missing.length > 1 ? 's' : ''} ${missing.map((s) => `'${s.name}'`).join(', ')}`,
    );
  }
  const batchable = batchesOnFirstDimension(signature);
  const rowCounts = new Set(Object.values(inputs).map((t) => t.shape[0] ?? 1));
  if (batchable && rowCounts.size > 1) {
    throw invalidParameter(
      `all inputs must have the same first (batch) dimension, got ${[...rowCounts].join(' and ')}`,
    );
  }
  let outputNames: string[] | undefined;
  if (request.outputs !== undefined) {
    const known = new Set(signature.outputs.map((o) => o.name));
    for (const output of request.outputs) {
      if (!known.has(output.name)) {
        throw invalidParameter(
          `unknown output '${output.name}' requested: the model's outputs are ${[...known].map((n) => `'${n}'`).join(', ')}`,
        );
      }
    }
    outputNames = request.outputs.map((o) => o.name);
  }
  const timeout = request.parameters?.timeout;
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    throw invalidParameter(
      `parameter 'timeout' must be a positive number of milliseconds, got ${JSON.stringify(timeout)}`,
    );
  }
  return {
    ...(request.id !== undefined && { id: request.id }),
    inputs,
    rows: [...rowCounts][0] ?? 1,
    ...(outputNames !== undefined && { outputNames }),
    ...(typeof timeout === 'number' && { timeoutMs: timeout }),
    batchable,
  };
}

/** The V2 inference response. */
export function encodeV2Response(input: {
  modelName: string;
  modelVersion: string;
  id?: string;
  outputs: TensorMap;
  outputOrder: readonly string[];
}) {
  const names = input.outputOrder.filter((name) => input.outputs[name] !== undefined);
  return {
    model_name: input.modelName,
    model_version: input.modelVersion,
    ...(input.id !== undefined && { id: input.id }),
    outputs: names.map((name) => {
      const tensor = input.outputs[name] as NonNullable<TensorMap[string]>;
      return { name, datatype: tensor.datatype, shape: tensor.shape, data: tensorToJson(tensor) };
    }),
  };
}
