import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RoutePermission } from '../auth/index.js';
import { invalidParameter, SlipwayError } from '../core/errors.js';
import { parseInput } from '../core/request-input.js';
import { batchesOnFirstDimension } from '../registry/index.js';
import { VERSION } from '../version.js';
import { decodeInvocation, encodeInvocationResponse } from './protocols/invocations.js';
import { tensorToJson } from './protocols/tensor-codec.js';
import { type DecodedRequest, decodeV2Request, encodeV2Response } from './protocols/v2.js';
import type { Tensor, TensorMap } from './runtime/tensor.js';
import type { ServedModel, ServingService } from './service.js';

const infer: RoutePermission = { action: 'read', resource: 'endpoint' };
const manage: RoutePermission = { action: 'admin', resource: 'endpoint' };

/**
 * Where endpoint names resolve: the deployments domain routes a request to a version by the endpoint's traffic
 * policy and is told how it went (for canary analysis and shadow comparison).
 */
export interface EndpointRouter {
  route(
    name: string,
    routingKey?: string,
  ):
    | {
        model: ServedModel;
        shadow?: ServedModel;
        record(outcome: { ok: boolean; latencyMs: number; prediction?: number }): void;
        /** Whether this request's copy goes to the shadow (false: skipped, the shadow is busy). */
        startShadow(): boolean;
        /** The copy will not be sent after all (the champion failed). */
        cancelShadow(): void;
        recordShadow(outcome: { ok: boolean; latencyMs: number; agrees?: boolean; absDiff?: number }): void;
      }
    | undefined;
}

/**
 * Endpoint request enrichment (the features domain): an endpoint bound to a feature service gets its features
 * added to the request body before decoding. `has` is synchronous so unbound endpoints pay no await.
 */
export interface RequestEnricher {
  has(endpoint: string): boolean;
  enrich(
    endpoint: string,
    body: unknown,
    signature: ServedModel['signature'],
    protocol: 'v2' | 'invocations',
  ): Promise<unknown>;
}

/** How the response names the version that answered (V2 body field and a header, for every protocol). */
const VERSION_HEADER = 'x-slipway-model-version';

/**
 * The Open Inference Protocol (KServe V2) REST API, Triton-style repository control, and MLflow's scoring
 * protocol (`/invocations`, `/ping`) for the process's default model.
 */
export function servingRoutes(
  serving: ServingService,
  options: {
    defaultModel?: () => string | undefined;
    router?: EndpointRouter;
    enricher?: RequestEnricher;
  } = {},
) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get(
      '/v2',
      { config: { public: true }, schema: { summary: 'Server metadata', tags: ['inference'] } },
      async () => ({
        name: 'slipway',
        version: VERSION,
        extensions: ['model_repository'],
      }),
    );
    app.get(
      '/v2/health/live',
      { config: { public: true }, schema: { summary: 'Liveness', tags: ['inference'] } },
      async () => ({ live: true }),
    );
    app.get(
      '/v2/health/ready',
      { config: { public: true }, schema: { summary: 'Readiness', tags: ['inference'] } },
      async (_request, reply) =>
        serving.ready() ? { ready: true } : reply.status(503).send({ ready: false }),
    );

    const metadata = (model: ServedModel) => ({
      name: model.name,
      versions: serving
        .list()
        .filter((m) => m.name === model.name)
        .map((m) => m.version),
      platform: 'onnxruntime_onnx',
      inputs: model.signature.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      outputs: model.signature.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    });

    type Routed = NonNullable<ReturnType<EndpointRouter['route']>>;
    /** An endpoint name routes by its traffic policy; anything else names a loaded model (and version). */
    const target = (request: FastifyRequest): { model: ServedModel; routed?: Routed; endpoint?: string } => {
      const params = pathParams(request);
      if (params.version === undefined && options.router !== undefined) {
        const routed = options.router.route(params.model, routingKeyOf(request));
        if (routed !== undefined) return { model: routed.model, routed, endpoint: params.model };
      }
      return { model: serving.get(params.model, params.version) };
    };
    const find = (request: FastifyRequest): ServedModel => target(request).model;
    /** The body to decode: enriched with features when the request names an endpoint bound to a service. */
    const bodyFor = (
      chosen: { model: ServedModel; routed?: Routed },
      request: FastifyRequest,
      protocol: 'v2' | 'invocations',
    ): unknown => {
      const enricher = options.enricher;
      if (chosen.routed === undefined || enricher === undefined) return request.body;
      const endpoint = (request.params as { model: string }).model;
      if (!enricher.has(endpoint)) return request.body;
      return enricher.enrich(endpoint, request.body, chosen.model.signature, protocol);
    };

    /** Runs a decoded request, reports the outcome to the endpoint's router, and mirrors it to a shadow. */
    const execute = async (
      chosen: { model: ServedModel; routed?: Routed; endpoint?: string },
      decoded: DecodedRequest,
      requestId: string,
    ) => {
      const { model, routed, endpoint } = chosen;
      // Input buffers move to the inference worker, so the shadow gets its own copy first.
      const shadowing = routed?.shadow !== undefined && routed.startShadow();
      const shadowInputs = shadowing ? cloneTensors(decoded.inputs) : undefined;
      const started = performance.now();
      let result: Awaited<ReturnType<ServingService['infer']>>;
      try {
        result = await serving.infer(model, decoded, requestId, endpoint === undefined ? {} : { endpoint });
      } catch (error) {
        if (shadowing) routed?.cancelShadow();
        if (routed !== undefined && isServerFault(error))
          routed.record({ ok: false, latencyMs: performance.now() - started });
        throw error;
      }
      const latencyMs = performance.now() - started;
      if (routed !== undefined) {
        const prediction = firstValue(result.outputs, model.signature.outputs[0]?.name);
        routed.record({ ok: true, latencyMs, ...(prediction !== undefined && { prediction }) });
        const shadow = routed.shadow;
        if (shadow !== undefined && shadowInputs !== undefined) {
          const shadowStarted = performance.now();
          void serving
            .infer(shadow, { ...decoded, inputs: shadowInputs }, `${requestId}-shadow`, {
              ...(endpoint !== undefined && { endpoint }),
              shadow: true,
            })
            .then((answer) => {
              routed.recordShadow({
                ok: true,
                latencyMs: performance.now() - shadowStarted,
                ...compareOutputs(result.outputs, answer.outputs),
              });
            })
            .catch(() => routed.recordShadow({ ok: false, latencyMs: performance.now() - shadowStarted }));
        }
      }
      return result;
    };

    for (const prefix of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
      app.get(
        prefix,
        { config: { permission: infer }, schema: { summary: 'Model metadata', tags: ['inference'] } },
        async (request) => metadata(find(request)),
      );
      app.get(
        `${prefix}/ready`,
        { config: { permission: infer }, schema: { summary: 'Model readiness', tags: ['inference'] } },
        async (request, reply) => {
          const model = find(request);
          const ready = model.state === 'ready' && serving.ready();
          return reply.status(ready ? 200 : 503).send({ name: model.name, version: model.version, ready });
        },
      );
      app.post(
        `${prefix}/infer`,
        {
          config: { permission: infer },
          schema: { summary: 'Inference (Open Inference Protocol)', tags: ['inference'] },
        },
        async (request, reply) => {
          const chosen = target(request);
          const model = chosen.model;
          const pending = bodyFor(chosen, request, 'v2');
          const body = pending instanceof Promise ? await pending : pending;
          const decoded = decode(model, () => decodeV2Request(body, model.signature));
          const timeoutMs = headerTimeout(request);
          if (timeoutMs !== undefined && decoded.timeoutMs === undefined) decoded.timeoutMs = timeoutMs;
          const result = await execute(chosen, decoded, request.id);
          reply.header(VERSION_HEADER, model.version);
          return encodeV2Response({
            modelName: model.name,
            modelVersion: model.version,
            ...(decoded.id !== undefined && { id: decoded.id }),
            outputs: result.outputs,
            outputOrder: decoded.outputNames ?? model.signature.outputs.map((o) => o.name),
          });
        },
      );
    }

    const decode = <T>(model: ServedModel, work: () => T): T => {
      try {
        return work();
      } catch (error) {
        serving.countRejected(model);
        throw error;
      }
    };

    app.post(
      '/v2/repository/index',
      { config: { permission: manage }, schema: { summary: 'Loaded models', tags: ['repository'] } },
      async () =>
        serving.list().map((m) => ({
          name: m.name,
          version: m.version,
          state: m.state === 'ready' ? 'READY' : 'UNLOADING',
          reason: '',
        })),
    );
    app.post(
      '/v2/repository/models/:model/load',
      {
        config: { permission: manage },
        schema: {
          summary: 'Load (or reload) a registry version: NAME, with parameters.version or parameters.alias',
          tags: ['repository'],
        },
      },
      async (request) => {
        const { model } = pathParams(request);
        const body = parseInput(
          z.object({
            parameters: z
              .object({ version: z.union([z.string(), z.number()]).optional(), alias: z.string().optional() })
              .optional(),
          }),
          request.body ?? {},
        );
        const version = body.parameters?.version;
        const alias = body.parameters?.alias;
        const reference =
          version !== undefined ? `${model}/${version}` : alias !== undefined ? `${model}@${alias}` : model;
        const loaded = await serving.load(reference);
        return { name: loaded.name, version: loaded.version, state: 'READY' };
      },
    );
    app.post(
      '/v2/repository/models/:model/unload',
      {
        config: { permission: manage },
        schema: { summary: 'Unload a model (all versions, or parameters.version)', tags: ['repository'] },
      },
      async (request) => {
        const { model } = pathParams(request);
        const body = parseInput(
          z.object({
            parameters: z.object({ version: z.union([z.string(), z.number()]).optional() }).optional(),
          }),
          request.body ?? {},
        );
        const version = body.parameters?.version;
        await serving.unload(model, version === undefined ? undefined : String(version));
        return {};
      },
    );

    app.get(
      '/ping',
      { config: { public: true }, schema: { summary: 'MLflow scoring health', tags: ['inference'] } },
      async (_request, reply) => {
        const name = options.defaultModel?.();
        const ready = serving.ready() && name !== undefined && serving.list().some((m) => m.name === name);
        return reply.status(ready ? 200 : 503).send(ready ? '\n' : 'no model loaded\n');
      },
    );
    app.post(
      '/invocations',
      {
        config: { permission: infer },
        schema: { summary: "MLflow scoring protocol for the process's model", tags: ['inference'] },
      },
      async (request, reply) => {
        const name = options.defaultModel?.();
        if (name === undefined)
          throw new SlipwayError(
            'ENDPOINT_NOT_FOUND',
            'No default model: start with `slipway serve MODEL` or call /v2/models/{model}/infer',
          );
        return invoke({ model: serving.get(name) }, request, reply);
      },
    );
    app.post(
      '/endpoints/:model/invocations',
      {
        config: { permission: infer },
        schema: {
          summary: 'MLflow scoring protocol for an endpoint (routed by its traffic policy)',
          tags: ['inference'],
        },
      },
      async (request, reply) => invoke(target(request), request, reply),
    );

    const invoke = async (
      chosen: { model: ServedModel; routed?: Routed },
      request: FastifyRequest,
      reply: FastifyReply,
    ) => {
      const model = chosen.model;
      const pending = bodyFor(chosen, request, 'invocations');
      const body = pending instanceof Promise ? await pending : pending;
      const decoded = decode(model, () => decodeInvocation(body, model.signature));
      const timeoutMs = headerTimeout(request);
      const v2: DecodedRequest = {
        inputs: decoded.inputs,
        rows: decoded.rows,
        batchable: batchesOnFirstDimension(model.signature),
        ...(timeoutMs !== undefined && { timeoutMs }),
      };
      const result = await execute(chosen, v2, request.id);
      reply.header(VERSION_HEADER, model.version);
      return encodeInvocationResponse(
        result.outputs,
        model.signature.outputs.map((o) => o.name),
        decoded.format,
      );
    };
  };
}

/** The model (and version) named in the path; checked by hand, as inference runs it on every request. */
function pathParams(request: FastifyRequest): { model: string; version?: string } {
  const { model, version } = request.params as { model?: string; version?: string };
  if (model === undefined || model === '') throw invalidParameter("path parameter 'model' must not be empty");
  if (version === '') throw invalidParameter("path parameter 'version' must not be empty");
  return version === undefined ? { model } : { model, version };
}

/** A per-request deadline may also come as a header (ms), for clients that cannot set V2 parameters. */
function headerTimeout(request: FastifyRequest): number | undefined {
  const raw = request.headers['x-request-timeout-ms'] ?? request.headers['inference-timeout-ms'];
  if (raw === undefined) return undefined;
  const value = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!(value > 0)) {
    throw new SlipwayError(
      'INVALID_PARAMETER_VALUE',
      `header 'x-request-timeout-ms' must be a positive number of milliseconds, got '${String(raw)}'`,
    );
  }
  return value;
}

/** A/B tests stay sticky per user: the `x-routing-key` header (or `routing_key` query parameter) picks the key. */
function routingKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-routing-key'];
  if (typeof header === 'string' && header !== '') return header;
  const query = (request.query as { routing_key?: unknown } | undefined)?.routing_key;
  return typeof query === 'string' && query !== '' ? query : undefined;
}

/** Faults of the server or the model (5xx), as opposed to the caller's mistakes or load shedding. */
function isServerFault(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return status === undefined || status >= 500;
}

function cloneTensors(inputs: TensorMap): TensorMap {
  const copy: TensorMap = {};
  for (const [name, tensor] of Object.entries(inputs)) {
    copy[name] = { ...tensor, data: Array.isArray(tensor.data) ? [...tensor.data] : tensor.data.slice() };
  }
  return copy;
}

/** The first value of an output, as a number, for prediction-distribution checks. */
function firstValue(outputs: TensorMap, name: string | undefined): number | undefined {
  const tensor = name === undefined ? undefined : outputs[name];
  const value = tensor === undefined ? undefined : tensorToJson(tensor)[0];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Champion vs shadow on the first shared output: mean absolute difference, and agreement within 1e-6. */
function compareOutputs(champion: TensorMap, shadow: TensorMap): { agrees: boolean; absDiff: number } {
  const name = Object.keys(champion).find((n) => shadow[n] !== undefined);
  if (name === undefined) return { agrees: false, absDiff: Number.NaN };
  const a = tensorToJson(champion[name] as Tensor);
  const b = tensorToJson(shadow[name] as Tensor);
  if (a.length !== b.length) return { agrees: false, absDiff: Number.NaN };
  let sum = 0;
  let agrees = true;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number') {
      const diff = Math.abs(x - y);
      sum += diff;
      if (diff > 1e-6 * Math.max(1, Math.abs(x))) agrees = false;
    } else if (x !== y) agrees = false;
  }
  return { agrees, absDiff: a.length === 0 ? 0 : sum / a.length };
}
