import { invalidParameter } from '../core/errors.js';
import type { ModelSignature, TensorSpec } from '../registry/index.js';
import type { FeatureService } from './service.js';

type Column = unknown[];

/**
 * Endpoint enrichment: a request that carries entity keys (and request fields) gets its feature service's
 * features (on-demand ones included) looked up online and added as the model's inputs, before the model runs.
 * A model input is filled by the feature of the same name; a single 2-D input wider than one column takes
 * all the service's features, in the service's order.
 */
export function createEnricher(features: FeatureService) {
  /** Looks up the service's features for the given request columns: feature name -> values. */
  const lookUp = async (endpoint: string, columns: Map<string, Column>) => {
    const binding = features.bindingOf(endpoint);
    if (binding === undefined) return undefined;
    // Only the join keys and request fields go to the lookup: other inputs (the model's own) may be any shape.
    const entities: Record<string, unknown[]> = {};
    for (const name of features.requestColumnsOf(binding.feature_service)) {
      const values = columns.get(binding.entity_inputs[name] ?? name);
      if (values !== undefined) entities[name] = values;
    }
    const response = await features.getOnlineFeatures({ featureService: binding.feature_service, entities });
    const order = features.featureNamesOf(binding.feature_service);
    const found = new Map<string, Column>();
    // Join key columns come first in the response; the service's features follow, in its order.
    const offset = response.metadata.feature_names.length - order.length;
    order.forEach((name, i) => {
      found.set(name, response.results[offset + i]?.values ?? []);
    });
    return { found, order };
  };

  return {
    /** Synchronous: endpoints without a binding pay one Map lookup. */
    has: (endpoint: string): boolean => features.bindingOf(endpoint) !== undefined,

    async enrich(
      endpoint: string,
      body: unknown,
      signature: ModelSignature,
      protocol: 'v2' | 'invocations',
    ): Promise<unknown> {
      return protocol === 'v2'
        ? enrichV2(endpoint, body, signature, lookUp)
        : enrichInvocation(endpoint, body, signature, lookUp);
    },
  };
}

export type Enricher = ReturnType<typeof createEnricher>;

type LookUp = (
  endpoint: string,
  columns: Map<string, Column>,
) => Promise<{ found: Map<string, Column>; order: string[] } | undefined>;

interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown;
  parameters?: unknown;
}

async function enrichV2(endpoint: string, body: unknown, signature: ModelSignature, lookUp: LookUp) {
  const request = body as { inputs?: V2Input[] } | null;
  if (request === null || typeof request !== 'object' || !Array.isArray(request.inputs)) return body;
  const columns = new Map<string, Column>();
  for (const input of request.inputs) {
    if (input === null || typeof input !== 'object' || typeof input.name !== 'string') return body;
    columns.set(
      input.name,
      Array.isArray(input.data) ? (input.data as unknown[]).flat(Number.POSITIVE_INFINITY) : [input.data],
    );
  }
  const looked = await lookUp(endpoint, columns);
  if (looked === undefined) return body;
  const given = new Map(request.inputs.map((i) => [i.name, i]));
  const inputs: V2Input[] = [];
  for (const spec of signature.inputs) {
    const original = given.get(spec.name);
    if (original !== undefined) inputs.push(original);
    else inputs.push(featureTensor(endpoint, spec, signature, looked));
  }
  return { ...(request as object), inputs };
}

/** A model input built from features: the one of the same name, or all of them as a matrix. */
function featureTensor(
  endpoint: string,
  spec: TensorSpec,
  signature: ModelSignature,
  looked: { found: Map<string, Column>; order: string[] },
): V2Input {
  const named = looked.found.get(spec.name);
  if (named !== undefined) {
    const rows = named.length;
    const shape = spec.shape.length >= 2 ? [rows, 1] : [rows];
    return {
      name: spec.name,
      shape,
      datatype: spec.datatype,
      data: Array.from({ length: rows }, (_, r) => toNumber(named[r], spec, spec.name)),
    };
  }
  const width = spec.shape[1];
  if (
    signature.inputs.length === 1 &&
    spec.shape.length === 2 &&
    (width === -1 || width === looked.order.length)
  ) {
    const rows = looked.found.get(looked.order[0] ?? '')?.length ?? 0;
    const data: unknown[] = [];
    for (let r = 0; r < rows; r++)
      for (const name of looked.order) data.push(toNumber(looked.found.get(name)?.[r], spec, name));
    return { name: spec.name, shape: [rows, looked.order.length], datatype: spec.datatype, data };
  }
  throw invalidParameter(
    `endpoint '${endpoint}': model input '${spec.name}' is neither in the request nor a feature of the bound service (features: ${looked.order.join(', ')})`,
  );
}

/**
 * A missing feature value (not found, or older than its ttl) becomes NaN for a floating-point input, which models
 * read as missing (as the trainer's trees and scikit-learn's do); other tensor types cannot carry it and fail the
 * request, naming the feature.
 */
function toNumber(value: unknown, spec: TensorSpec, feature: string): unknown {
  if ((value === null || value === undefined) && (spec.datatype === 'FP32' || spec.datatype === 'FP64'))
    return Number.NaN;
  if (value === null || value === undefined) {
    throw invalidParameter(
      `feature '${feature}' has no value (NOT_FOUND or OUTSIDE_MAX_AGE) for model input '${spec.name}'`,
    );
  }
  if (spec.datatype === 'BYTES') return String(value);
  return typeof value === 'boolean' ? Number(value) : value;
}

async function enrichInvocation(endpoint: string, body: unknown, signature: ModelSignature, lookUp: LookUp) {
  if (body === null || typeof body !== 'object') return body;
  const record = body as Record<string, unknown>;
  let columnNames: string[];
  let rows: unknown[][];
  if (record.dataframe_split !== undefined) {
    const split = record.dataframe_split as { columns?: unknown; data?: unknown };
    if (!Array.isArray(split.columns) || !Array.isArray(split.data)) return body;
    columnNames = split.columns.map(String);
    rows = split.data as unknown[][];
  } else if (Array.isArray(record.dataframe_records) && record.dataframe_records.length > 0) {
    const records = record.dataframe_records as Record<string, unknown>[];
    columnNames = Object.keys(records[0] ?? {});
    rows = records.map((r) => columnNames.map((c) => r?.[c]));
  } else return body;
  const columns = new Map<string, Column>(columnNames.map((c, i) => [c, rows.map((r) => r?.[i])]));
  const looked = await lookUp(endpoint, columns);
  if (looked === undefined) return body;
  const byName = signature.inputs.every((s) => columns.has(s.name) || looked.found.has(s.name));
  const out = byName ? signature.inputs.map((s) => s.name) : looked.order;
  const source = (name: string) => columns.get(name) ?? looked.found.get(name) ?? [];
  const spec = signature.inputs[0];
  const data = rows.map((_, r) =>
    out.map((name) => {
      const value = source(name)[r];
      const inputSpec = signature.inputs.find((s) => s.name === name) ?? spec;
      return inputSpec === undefined || columns.has(name) ? value : toNumber(value, inputSpec, name);
    }),
  );
  return { dataframe_split: { columns: out, data } };
}
