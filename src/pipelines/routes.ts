import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../core/request-input.js';
import type { PipelineService } from './service.js';

const read = { action: 'read', resource: 'pipeline' } as const;
const write = { action: 'write', resource: 'pipeline' } as const;
const tags = ['pipelines'];

const nameParams = z.object({ name: z.string().min(1) });
const runParams = z.object({ id: z.string().min(1) });
const stepParams = z.object({ id: z.string().min(1), step: z.string().min(1) });

const applySchema = z.object({
  spec: z.string().min(1, 'expected the pipeline spec as YAML text'),
  working_dir: z.string().min(1, "expected the absolute path of the spec's folder on the server"),
  source: z.string().max(500).optional(),
});

const startSchema = z.object({
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

const listRunsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() });

/** `/api/v1/pipelines...` and `/api/v1/pipeline-runs/...`: apply specs, start, watch and resume runs, read logs. */
export function pipelineRoutes(pipelines: PipelineService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post(
      '/api/v1/pipelines',
      { config: { permission: write }, schema: { summary: 'Apply a pipeline spec (new version)', tags } },
      async (request) => {
        const body = parseInput(applySchema, request.body);
        return pipelines.apply({
          spec: body.spec,
          workingDir: body.working_dir,
          ...(body.source !== undefined && { source: body.source }),
        });
      },
    );

    app.get(
      '/api/v1/pipelines',
      { config: { permission: read }, schema: { summary: 'List pipelines', tags } },
      async () => ({ pipelines: await pipelines.list() }),
    );

    app.get(
      '/api/v1/pipelines/:name',
      { config: { permission: read }, schema: { summary: 'A pipeline and its current spec', tags } },
      async (request) => pipelines.get(parseInput(nameParams, request.params).name),
    );

    app.post(
      '/api/v1/pipelines/:name/runs',
      { config: { permission: write }, schema: { summary: 'Start a run (manual trigger)', tags } },
      async (request) => {
        const { name } = parseInput(nameParams, request.params);
        const body = parseInput(startSchema, request.body);
        return pipelines.startRun(name, {
          reason: 'manual',
          ...(body.params !== undefined && { params: body.params }),
        });
      },
    );

    app.get(
      '/api/v1/pipelines/:name/runs',
      { config: { permission: read }, schema: { summary: "A pipeline's runs, newest first", tags } },
      async (request) => {
        const { name } = parseInput(nameParams, request.params);
        const { limit } = parseInput(listRunsQuery, request.query);
        return { runs: await pipelines.listRuns(name, limit) };
      },
    );

    app.get(
      '/api/v1/pipeline-runs/:id',
      { config: { permission: read }, schema: { summary: 'A run with its steps', tags } },
      async (request) => pipelines.getRun(parseInput(runParams, request.params).id),
    );

    app.get(
      '/api/v1/pipeline-runs/:id/steps/:step/logs',
      { config: { permission: read }, schema: { summary: "A step's captured stdout and stderr", tags } },
      async (request) => {
        const { id, step } = parseInput(stepParams, request.params);
        return { run_id: id, step, log: await pipelines.logs(id, step) };
      },
    );

    app.post(
      '/api/v1/pipeline-runs/:id/resume',
      {
        config: { permission: write },
        schema: { summary: 'Resume a failed run from its failed steps', tags },
      },
      async (request) => pipelines.resume(parseInput(runParams, request.params).id),
    );
  };
}
