import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RoutePermission } from '../auth/index.js';
import { parseInput } from '../core/request-input.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface MlflowEndpoint<S extends z.ZodType> {
  /** One method, or several where MLflow's server answers more than one (GET and POST on searches). */
  method: Method | Method[];
  /** Path below `/api/2.0/mlflow`, e.g. `/runs/create`. */
  path: string;
  permission: RoutePermission;
  summary: string;
  input: S;
  handle(input: z.output<S>, request: FastifyRequest): Promise<object>;
}

const PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'];

/**
 * Registers one MLflow REST endpoint: GET reads its parameters from the query string, other methods from the
 * JSON body (MLflow's client sends a JSON body with DELETE too). Input is validated by the endpoint's zod
 * schema; the same schema documents the route in OpenAPI.
 */
export function registerMlflowEndpoint<S extends z.ZodType>(
  app: FastifyInstance,
  endpoint: MlflowEndpoint<S>,
): void {
  const jsonSchema = z.toJSONSchema(endpoint.input, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete jsonSchema.$schema;
  const methods = Array.isArray(endpoint.method) ? endpoint.method : [endpoint.method];
  for (const prefix of PREFIXES) {
    for (const method of methods) {
      app.route({
        method,
        url: `${prefix}${endpoint.path}`,
        config: { permission: endpoint.permission },
        schema: {
          summary: endpoint.summary,
          tags: [endpoint.path.split('/')[1] ?? 'mlflow'],
          hide: prefix !== PREFIXES[0],
          ...(method === 'GET' ? { querystring: jsonSchema } : { body: jsonSchema }),
        },
        handler: async (request) => {
          const raw = method === 'GET' ? request.query : (request.body ?? request.query);
          return endpoint.handle(parseInput(endpoint.input, raw), request);
        },
      });
    }
  }
}
