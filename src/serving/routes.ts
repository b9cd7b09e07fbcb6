import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RoutePermission } from '../auth/index.js';
import { SlipwayError } from '../core/errors.js';
import { parseInput } from '../core/request-input.js';
import { VERSION } from '../version.js';
import { decodeInvocation, encodeInvocationResponse } from './protocols/invocations.js';
import { type DecodedRequest, decodeV2Request, encodeV2Response } from './protocols/v2.js';
import type { ServedModel, ServingService } from './service.js';

const infer: RoutePermission = { action: 'read', resource: 'endpoint' };
const manage: RoutePermission = { action: 'admin', resource: 'endpoint' };
const modelParams = z.object({ model: z.string().min(1), version: z.string().min(1).optional() });

/** How the response names the version that answered (V2 body field and a header, for every protocol). */
const VERSION_HEADER = 'x-slipway-model-version';

/**
 * The Open Inference Protocol (KServe V2) REST API, Triton-style repository control, and MLflow's scoring
 * protocol (`/invocations`, `/ping`) for the process's default model.
 */
export function servingRoutes(
  serving: ServingService,
  options: { defaultModel?: () => string | undefined } = {},
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

    const find = (request: FastifyRequest): ServedModel => {
      const params = parseInput(modelParams, request.params);
      return serving.get(params.model, params.version);
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
          const model = find(request);
          const decoded = decode(model, () => decodeV2Request(request.body, model.signature));
          const timeoutMs = headerTimeout(request);
          if (timeoutMs !== undefined && decoded.timeoutMs === undefined) decoded.timeoutMs = timeoutMs;
          const result = await serving.infer(model, decoded, request.id);
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
        const { model } = parseInput(modelParams, request.params);
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
        const { model } = parseInput(modelParams, request.params);
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
        return invoke(serving.get(name), request, reply);
      },
    );

    const invoke = async (model: ServedModel, request: FastifyRequest, reply: FastifyReply) => {
      const decoded = decode(model, () => decodeInvocation(request.body, model.signature));
      const timeoutMs = headerTimeout(request);
      const v2: DecodedRequest = {
        inputs: decoded.inputs,
        rows: decoded.rows,
        batchable: model.signature.inputs.every((s) => s.shape[0] === -1),
        ...(timeoutMs !== undefined && { timeoutMs }),
      };
      const result = await serving.infer(model, v2, request.id);
      reply.header(VERSION_HEADER, model.version);
      return encodeInvocationResponse(
        result.outputs,
        model.signature.outputs.map((o) => o.name),
        decoded.format,
      );
    };
  };
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
