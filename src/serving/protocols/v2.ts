import { z } from 'zod';
import { invalidParameter } from '../../core/errors.js';
import { parseInput } from '../../core/request-input.js';
import type { ModelSignature } from '../../registry/index.js';
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

type V2Request = z.infer<typeof v2RequestSchema>;

const isRecord = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isName = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

/**
 * The request, checked in place when it is well formed (it runs on every inference, and zod copies what it
 * checks); anything else goes through the schema, whose errors name the field and what was expected.
 */
function v2RequestOf(body: unknown): V2Request {
  const r = body as Partial<Record<keyof V2Request, unknown>> | null;
  const wellFormed =
    isRecord(r) &&
    r !== null &&
    (r.id === undefined || typeof r.id === 'string') &&
    (r.parameters === undefined || isRecord(r.parameters)) &&
    Array.isArray(r.inputs) &&
    r.inputs.length > 0 &&
    r.inputs.every(
      (input: Record<string, unknown>) =>
        isRecord(input) &&
        isName(input.name) &&
        isName(input.datatype) &&
        (input.parameters === undefined || isRecord(input.parameters)) &&
        Array.isArray(input.shape) &&
        input.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0),
    ) &&
    (r.outputs === undefined ||
      (Array.isArray(r.outputs) &&
        r.outputs.every(
          (output: Record<string, unknown>) =>
            isRecord(output) &&
            isName(output.name) &&
            (output.parameters === undefined || isRecord(output.parameters)),
        )));
  return wellFormed ? (r as V2Request) : parseInput(v2RequestSchema, body);
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
  const request = v2RequestOf(body);
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
  const batchable = signature.inputs.every((spec) => spec.shape[0] === -1);
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
