import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../core/request-input.js';
import type { DeploymentService } from './service.js';

const read = { action: 'read', resource: 'endpoint' } as const;
const write = { action: 'write', resource: 'endpoint' } as const;
const endpointParams = z.object({ endpoint: z.string().min(1) });

const checkSchema = z.object({
  metric: z.enum(['error_rate', 'latency_p99_ratio', 'prediction_psi']),
  max: z.number().nonnegative(),
  minSamples: z.number().int().positive(),
});

const deploySchema = z.object({
  model: z.string().min(1, "expected a model reference such as 'fraud@champion' or 'fraud/3'"),
  policy: z.enum(['direct', 'canary', 'ab', 'shadow', 'blue-green']).optional(),
  steps: z.array(z.number()).min(1).optional(),
  interval_ms: z.number().int().positive().optional(),
  checks: z.array(checkSchema).optional(),
  weight: z.number().min(0).max(100).optional(),
  approval: z.boolean().optional(),
  webhook_url: z.url().optional(),
  reason: z.string().max(1000).optional(),
});

/** Slipway's endpoint API: deploy with a traffic policy, watch and steer rollouts, roll back, read history. */
export function deploymentRoutes(deployments: DeploymentService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get(
      '/api/v1/endpoints',
      { config: { permission: read }, schema: { summary: 'List endpoints', tags: ['endpoints'] } },
      async () => ({
        endpoints: await deployments.list(),
      }),
    );

    app.get(
      '/api/v1/endpoints/:endpoint',
      {
        config: { permission: read },
        schema: { summary: 'An endpoint, its policy and rollout', tags: ['endpoints'] },
      },
      async (request) => deployments.get(parseInput(endpointParams, request.params).endpoint),
    );

    app.get(
      '/api/v1/endpoints/:endpoint/history',
      {
        config: { permission: read },
        schema: { summary: 'Every change: who, when, from, to, why', tags: ['endpoints'] },
      },
      async (request) => ({
        events: await deployments.history(parseInput(endpointParams, request.params).endpoint),
      }),
    );

    app.get(
      '/api/v1/endpoints/:endpoint/shadow',
      {
        config: { permission: read },
        schema: { summary: 'Shadow comparison: agreement, difference, latency', tags: ['endpoints'] },
      },
      async (request) => {
        const { endpoint } = parseInput(endpointParams, request.params);
        await deployments.get(endpoint);
        return deployments.shadowReport(endpoint);
      },
    );

    app.post(
      '/api/v1/endpoints/:endpoint/deploy',
      {
        config: { permission: write },
        schema: { summary: 'Deploy a version with a traffic policy', tags: ['endpoints'] },
      },
      async (request) => {
        const { endpoint } = parseInput(endpointParams, request.params);
        const body = parseInput(deploySchema, request.body);
        return deployments.deploy({
          endpoint,
          model: body.model,
          actor: actorOf(request.headers),
          ...(body.policy !== undefined && { policy: body.policy }),
          ...(body.steps !== undefined && { steps: body.steps }),
          ...(body.interval_ms !== undefined && { intervalMs: body.interval_ms }),
          ...(body.checks !== undefined && { checks: body.checks }),
          ...(body.weight !== undefined && { weight: body.weight }),
          ...(body.approval !== undefined && { approval: body.approval }),
          ...(body.webhook_url !== undefined && { webhookUrl: body.webhook_url }),
          ...(body.reason !== undefined && { reason: body.reason }),
        });
      },
    );

    app.post(
      '/api/v1/endpoints/:endpoint/rollback',
      {
        config: { permission: write },
        schema: { summary: 'All traffic to the previous stable version', tags: ['endpoints'] },
      },
      async (request) =>
        deployments.rollback(parseInput(endpointParams, request.params).endpoint, actorOf(request.headers)),
    );

    for (const action of ['promote', 'pause', 'resume', 'abort'] as const) {
      app.post(
        `/api/v1/endpoints/:endpoint/rollout/${action}`,
        {
          config: { permission: write },
          schema: { summary: `${action} the rollout in progress`, tags: ['endpoints'] },
        },
        async (request) => {
          const { endpoint } = parseInput(endpointParams, request.params);
          const actor = actorOf(request.headers);
          if (action === 'promote') return deployments.promote(endpoint, actor);
          if (action === 'abort') return deployments.abort(endpoint, actor);
          return deployments.setPaused(endpoint, action === 'pause', actor);
        },
      );
    }
  };
}

/** Who made a change, for the history (the auth issue will take it from the token). */
function actorOf(headers: Record<string, unknown>): string {
  const actor = headers['x-slipway-actor'];
  return typeof actor === 'string' && actor !== '' ? actor.slice(0, 200) : 'api';
}
