import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { double, int64, repeated, requiredString } from '../core/request-input.js';
import { registerMlflowEndpoint as endpoint } from './mlflow-endpoint.js';
import { RUN_STATUSES } from './model.js';
import type { TrackingService } from './service.js';

const keyValue = z.object({ key: z.string(), value: z.string() });
const tagList = z.array(keyValue).optional();
const viewType = z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']).optional();
const runId = z.object({ run_id: requiredString().optional(), run_uuid: requiredString().optional() });
const metric = z.object({ key: z.string(), value: double(), timestamp: int64(), step: int64().optional() });

/** MLflow sends run_id, and old clients run_uuid; one of them is required. */
const theRunId = (input: object): string => {
  // withRunId's refinement guarantees one of the two.
  const ids = input as { run_id?: string; run_uuid?: string };
  return (ids.run_id ?? ids.run_uuid) as string;
};

/** Endpoints that take a run id accept `run_id` or the older `run_uuid`; one of them is required. */
const withRunId = <T extends z.ZodRawShape>(shape: T) =>
  z.object({ ...runId.shape, ...shape }).refine((v: object) => 'run_id' in v || 'run_uuid' in v, {
    message: 'expected a run id',
    path: ['run_id'],
  });

const read = { action: 'read', resource: 'run' } as const;
const write = { action: 'write', resource: 'run' } as const;
const readExperiment = { action: 'read', resource: 'experiment' } as const;
const writeExperiment = { action: 'write', resource: 'experiment' } as const;

/** MLflow REST API 2.0: experiments, runs, metrics, params, tags, datasets. */
export function trackingRoutes(tracking: TrackingService) {
  return async (app: FastifyInstance): Promise<void> => {
    endpoint(app, {
      method: 'POST',
      path: '/experiments/create',
      permission: writeExperiment,
      summary: 'Create an experiment',
      input: z.object({ name: requiredString(), artifact_location: z.string().optional(), tags: tagList }),
      handle: async (input) => {
        const create: Parameters<TrackingService['createExperiment']>[0] = { name: input.name };
        if (input.artifact_location !== undefined) create.artifactLocation = input.artifact_location;
        if (input.tags !== undefined) create.tags = input.tags;
        return { experiment_id: await tracking.createExperiment(create) };
      },
    });

    endpoint(app, {
      method: 'GET',
      path: '/experiments/get',
      permission: readExperiment,
      summary: 'Get an experiment by id',
      input: z.object({ experiment_id: requiredString() }),
      handle: async (input) => ({ experiment: await tracking.getExperiment(input.experiment_id) }),
    });

    endpoint(app, {
      method: 'GET',
      path: '/experiments/get-by-name',
      permission: readExperiment,
      summary: 'Get an experiment by name',
      input: z.object({ experiment_name: requiredString() }),
      handle: async (input) => ({ experiment: await tracking.getExperimentByName(input.experiment_name) }),
    });

    endpoint(app, {
      method: ['POST', 'GET'],
      path: '/experiments/search',
      permission: readExperiment,
      summary: 'Search experiments',
      input: z.object({
        max_results: int64().optional(),
        page_token: z.string().optional(),
        filter: z.string().optional(),
        order_by: repeated(z.string()).optional(),
        view_type: viewType,
      }),
      handle: async (input) => {
        const page = await tracking.searchExperiments({
          ...(input.max_results !== undefined && { maxResults: input.max_results }),
          ...(input.page_token !== undefined && { pageToken: input.page_token }),
          ...(input.filter !== undefined && { filter: input.filter }),
          ...(input.order_by !== undefined && { orderBy: input.order_by }),
          ...(input.view_type !== undefined && { viewType: input.view_type }),
        });
        return {
          ...(page.items.length > 0 && { experiments: page.items }),
          ...(page.nextPageToken !== undefined && { next_page_token: page.nextPageToken }),
        };
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/experiments/update',
      permission: writeExperiment,
      summary: 'Rename an experiment',
      input: z.object({ experiment_id: requiredString(), new_name: requiredString() }),
      handle: async (input) => {
        await tracking.updateExperiment(input.experiment_id, input.new_name);
        return {};
      },
    });

    for (const [path, stage] of [
      ['/experiments/delete', 'deleted'],
      ['/experiments/restore', 'active'],
    ] as const) {
      endpoint(app, {
        method: 'POST',
        path,
        permission: writeExperiment,
        summary:
          stage === 'deleted' ? 'Delete an experiment (and mark its runs deleted)' : 'Restore an experiment',
        input: z.object({ experiment_id: requiredString() }),
        handle: async (input) => {
          await tracking.setExperimentLifecycle(input.experiment_id, stage);
          return {};
        },
      });
    }

    endpoint(app, {
      method: 'POST',
      path: '/experiments/set-experiment-tag',
      permission: writeExperiment,
      summary: 'Set a tag on an experiment',
      input: z.object({ experiment_id: requiredString(), key: requiredString(), value: z.string() }),
      handle: async (input) => {
        await tracking.setExperimentTag(input.experiment_id, { key: input.key, value: input.value });
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/experiments/delete-experiment-tag',
      permission: writeExperiment,
      summary: 'Delete a tag from an experiment',
      input: z.object({ experiment_id: requiredString(), key: requiredString() }),
      handle: async (input) => {
        await tracking.deleteExperimentTag(input.experiment_id, input.key);
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/runs/create',
      permission: write,
      summary: 'Create a run',
      input: z.object({
        experiment_id: z.string().optional(),
        user_id: z.string().optional(),
        run_name: z.string().optional(),
        start_time: int64().optional(),
        tags: tagList,
      }),
      handle: async (input) => ({
        run: await tracking.createRun({
          experimentId: input.experiment_id ?? '0',
          ...(input.user_id !== undefined && { userId: input.user_id }),
          ...(input.run_name !== undefined && { runName: input.run_name }),
          ...(input.start_time !== undefined && { startTime: input.start_time }),
          ...(input.tags !== undefined && { tags: input.tags }),
        }),
      }),
    });

    endpoint(app, {
      method: 'GET',
      path: '/runs/get',
      permission: read,
      summary: 'Get a run',
      input: withRunId({}),
      handle: async (input) => ({ run: await tracking.getRun(theRunId(input)) }),
    });

    endpoint(app, {
      method: 'POST',
      path: '/runs/update',
      permission: write,
      summary: 'Update a run (status, end time, name)',
      input: withRunId({
        status: z.enum(RUN_STATUSES as [string, ...string[]]).optional(),
        end_time: int64().optional(),
        run_name: z.string().optional(),
      }),
      handle: async (input) => {
        const run = await tracking.updateRun({
          runId: theRunId(input),
          ...(input.status !== undefined && { status: input.status as (typeof RUN_STATUSES)[number] }),
          ...(input.end_time !== undefined && { endTime: input.end_time }),
          ...(input.run_name !== undefined && { runName: input.run_name }),
        });
        return { run_info: run.info };
      },
    });

    for (const [path, stage] of [
      ['/runs/delete', 'deleted'],
      ['/runs/restore', 'active'],
    ] as const) {
      endpoint(app, {
        method: 'POST',
        path,
        permission: write,
        summary: stage === 'deleted' ? 'Delete a run' : 'Restore a deleted run',
        input: z.object({ run_id: requiredString() }),
        handle: async (input) => {
          await tracking.setRunLifecycle(input.run_id, stage);
          return {};
        },
      });
    }

    endpoint(app, {
      method: 'POST',
      path: '/runs/log-metric',
      permission: write,
      summary: 'Log one metric value',
      input: withRunId({
        key: requiredString(),
        value: double(),
        timestamp: int64(),
        step: int64().optional(),
      }),
      handle: async (input) => {
        await tracking.logBatch({
          runId: theRunId(input),
          metrics: [
            { key: input.key, value: input.value, timestamp: input.timestamp, step: input.step ?? 0 },
          ],
        });
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/runs/log-parameter',
      permission: write,
      summary: 'Log one parameter',
      input: withRunId({ key: requiredString(), value: z.string() }),
      handle: async (input) => {
        await tracking.logBatch({ runId: theRunId(input), params: [{ key: input.key, value: input.value }] });
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/runs/set-tag',
      permission: write,
      summary: 'Set a tag on a run',
      input: withRunId({ key: requiredString(), value: z.string() }),
      handle: async (input) => {
        await tracking.logBatch({ runId: theRunId(input), tags: [{ key: input.key, value: input.value }] });
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/runs/delete-tag',
      permission: write,
      summary: 'Delete a tag from a run',
      input: z.object({ run_id: requiredString(), key: requiredString() }),
      handle: async (input) => {
        await tracking.deleteTag(input.run_id, input.key);
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/runs/log-batch',
      permission: write,
      summary: 'Log metrics, params and tags in one atomic call',
      input: z.object({
        run_id: requiredString(),
        metrics: z.array(metric).optional(),
        params: z.array(keyValue).optional(),
        tags: z.array(keyValue).optional(),
      }),
      handle: async (input) => {
        await tracking.logBatch({
          runId: input.run_id,
          metrics: (input.metrics ?? []).map((m) => ({ ...m, step: m.step ?? 0 })),
          params: input.params ?? [],
          tags: input.tags ?? [],
        });
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/runs/log-inputs',
      permission: write,
      summary: 'Log datasets a run used',
      input: z.object({
        run_id: requiredString(),
        datasets: z
          .array(
            z.object({
              tags: z.array(keyValue).optional(),
              dataset: z.object({
                name: requiredString(),
                digest: requiredString(),
                source_type: requiredString(),
                source: requiredString(),
                schema: z.string().optional(),
                profile: z.string().optional(),
              }),
            }),
          )
          .optional(),
      }),
      handle: async (input) => {
        await tracking.logInputs(
          input.run_id,
          (input.datasets ?? []).map((d) => ({
            ...(d.tags !== undefined && { tags: d.tags }),
            dataset: {
              name: d.dataset.name,
              digest: d.dataset.digest,
              source_type: d.dataset.source_type,
              source: d.dataset.source,
              ...(d.dataset.schema !== undefined && { schema: d.dataset.schema }),
              ...(d.dataset.profile !== undefined && { profile: d.dataset.profile }),
            },
          })),
        );
        return {};
      },
    });

    endpoint(app, {
      method: ['POST', 'GET'],
      path: '/runs/search',
      permission: read,
      summary: 'Search runs with MLflow filter syntax',
      input: z.object({
        experiment_ids: repeated(z.string()).optional(),
        filter: z.string().optional(),
        run_view_type: viewType,
        max_results: int64().optional(),
        order_by: repeated(z.string()).optional(),
        page_token: z.string().optional(),
      }),
      handle: async (input) => {
        const page = await tracking.searchRuns({
          experimentIds: input.experiment_ids ?? [],
          ...(input.filter !== undefined && { filter: input.filter }),
          ...(input.run_view_type !== undefined && { viewType: input.run_view_type }),
          ...(input.max_results !== undefined && { maxResults: input.max_results }),
          ...(input.order_by !== undefined && { orderBy: input.order_by }),
          ...(input.page_token !== undefined && { pageToken: input.page_token }),
        });
        return {
          ...(page.items.length > 0 && { runs: page.items }),
          ...(page.nextPageToken !== undefined && { next_page_token: page.nextPageToken }),
        };
      },
    });

    endpoint(app, {
      method: 'GET',
      path: '/metrics/get-history',
      permission: read,
      summary: 'All logged values of one metric',
      input: withRunId({
        metric_key: requiredString(),
        max_results: int64().optional(),
        page_token: z.string().optional(),
      }),
      handle: async (input) => {
        const page = await tracking.getMetricHistory({
          runId: theRunId(input),
          metricKey: input.metric_key,
          ...(input.max_results !== undefined && { maxResults: input.max_results }),
          ...(input.page_token !== undefined && { pageToken: input.page_token }),
        });
        return {
          ...(page.items.length > 0 && { metrics: page.items }),
          ...(page.nextPageToken !== undefined && { next_page_token: page.nextPageToken }),
        };
      },
    });
  };
}
