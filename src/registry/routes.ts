import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bool, parseInput, repeated, requiredString } from '../core/request-input.js';
import { registerMlflowEndpoint as endpoint } from '../tracking/index.js';
import type { RegistryService } from './service.js';

const keyValue = z.object({ key: z.string(), value: z.string() });
const read = { action: 'read', resource: 'model' } as const;
const write = { action: 'write', resource: 'model' } as const;
const nameVersion = {
  name: requiredString(),
  version: z.union([requiredString(), z.number().int()]).transform(String),
};
const search = z.object({
  filter: z.string().optional(),
  max_results: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
  order_by: repeated(z.string()).optional(),
  page_token: z.string().optional(),
});
const searchArgs = (input: z.output<typeof search>) => ({
  ...(input.filter !== undefined && { filter: input.filter }),
  ...(input.max_results !== undefined && { maxResults: input.max_results }),
  ...(input.order_by !== undefined && { orderBy: input.order_by }),
  ...(input.page_token !== undefined && { pageToken: input.page_token }),
});

/** MLflow's model registry REST API, and Slipway's version detail (signature, lineage, card) under /api/v1. */
export function registryRoutes(registry: RegistryService) {
  return async (app: FastifyInstance): Promise<void> => {
    endpoint(app, {
      method: 'POST',
      path: '/registered-models/create',
      permission: write,
      summary: 'Create a registered model',
      input: z.object({
        name: requiredString(),
        description: z.string().optional(),
        tags: z.array(keyValue).optional(),
      }),
      handle: async (input) => ({
        registered_model: await registry.createRegisteredModel({
          name: input.name,
          ...(input.description !== undefined && { description: input.description }),
          ...(input.tags !== undefined && { tags: input.tags }),
        }),
      }),
    });

    endpoint(app, {
      method: 'GET',
      path: '/registered-models/get',
      permission: read,
      summary: 'Get a registered model',
      input: z.object({ name: requiredString() }),
      handle: async (input) => ({ registered_model: await registry.getRegisteredModel(input.name) }),
    });

    endpoint(app, {
      method: 'POST',
      path: '/registered-models/rename',
      permission: write,
      summary: 'Rename a registered model',
      input: z.object({ name: requiredString(), new_name: requiredString() }),
      handle: async (input) => ({
        registered_model: await registry.renameRegisteredModel(input.name, input.new_name),
      }),
    });

    endpoint(app, {
      method: 'PATCH',
      path: '/registered-models/update',
      permission: write,
      summary: "Update a registered model's description",
      input: z.object({ name: requiredString(), description: z.string().optional() }),
      handle: async (input) => ({
        registered_model: await registry.updateRegisteredModel(input.name, input.description ?? ''),
      }),
    });

    endpoint(app, {
      method: 'DELETE',
      path: '/registered-models/delete',
      permission: write,
      summary: 'Delete a registered model and all its versions',
      input: z.object({ name: requiredString() }),
      handle: async (input) => {
        await registry.deleteRegisteredModel(input.name);
        return {};
      },
    });

    endpoint(app, {
      method: ['GET', 'POST'],
      path: '/registered-models/search',
      permission: read,
      summary: 'Search registered models',
      input: search,
      handle: async (input) => {
        const page = await registry.searchRegisteredModels(searchArgs(input));
        return {
          ...(page.items.length > 0 && { registered_models: page.items }),
          ...(page.nextPageToken !== undefined && { next_page_token: page.nextPageToken }),
        };
      },
    });

    endpoint(app, {
      method: ['POST', 'GET'],
      path: '/registered-models/get-latest-versions',
      permission: read,
      summary: 'Latest version per stage (deprecated in MLflow; kept for old clients)',
      input: z.object({ name: requiredString(), stages: repeated(z.string()).optional() }),
      handle: async (input) => {
        const versions = await registry.getLatestVersions(input.name, input.stages);
        return versions.length > 0 ? { model_versions: versions } : {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/registered-models/set-tag',
      permission: write,
      summary: 'Set a tag on a registered model',
      input: z.object({ name: requiredString(), key: z.string(), value: z.string() }),
      handle: async (input) => {
        await registry.setRegisteredModelTag(input.name, { key: input.key, value: input.value });
        return {};
      },
    });

    endpoint(app, {
      method: 'DELETE',
      path: '/registered-models/delete-tag',
      permission: write,
      summary: 'Delete a tag from a registered model',
      input: z.object({ name: requiredString(), key: requiredString() }),
      handle: async (input) => {
        await registry.deleteRegisteredModelTag(input.name, input.key);
        return {};
      },
    });

    endpoint(app, {
      method: 'POST',
      path: '/registered-models/alias',
      permission: write,
      summary: 'Point an alias (e.g. champion) at a version',
      input: z.object({ name: requiredString(), alias: requiredString(), version: nameVersion.version }),
      handle: async (input) => {
        await registry.setAlias(input.name, input.alias, input.version);
        return {};
      },
    });

    endpoint(app, {
      method: 'DELETE',
      path: '/registered-models/alias',
      permission: write,
      summary: 'Delete an alias',
      input: z.object({ name: requiredString(), alias: requiredString() }),
      handle: async (input) => {
        await registry.deleteAlias(input.name, input.alias);
        return {};
      },
    });

    endpoint(app, {
      method: 'GET',
      path: '/registered-models/alias',
      permission: read,
      summary: 'Get the version an alias points at',
      input: z.object({ name: requiredString(), alias: requiredString() }),
      handle: async (input) => ({ model_version: await registry.getVersionByAlias(input.name, input.alias) }),
    });

    endpoint(app, {
      method: 'POST',
      path: '/model-versions/create',
      permission: write,
      summary: "Create a model version from a run's artifact (reads the ONNX signature)",
      input: z.object({
        name: requiredString(),
        source: requiredString(),
        run_id: z.string().optional(),
        run_link: z.string().optional(),
        description: z.string().optional(),
        tags: z.array(keyValue).optional(),
        model_id: z.string().optional(),
      }),
      handle: async (input) => ({
        model_version: await registry.createModelVersion({
          name: input.name,
          source: input.source,
          ...(input.run_id !== undefined && input.run_id !== '' && { runId: input.run_id }),
          ...(input.run_link !== undefined && { runLink: input.run_link }),
          ...(input.description !== undefined && { description: input.description }),
          ...(input.tags !== undefined && { tags: input.tags }),
        }),
      }),
    });

    endpoint(app, {
      method: 'GET',
      path: '/model-versions/get',
      permission: read,
      summary: 'Get a model version',
      input: z.object(nameVersion),
      handle: async (input) => ({ model_version: await registry.getModelVersion(input.name, input.version) }),
    });

    endpoint(app, {
      method: 'PATCH',
      path: '/model-versions/update',
      permission: write,
      summary: "Update a version's description",
      input: z.object({ ...nameVersion, description: z.string().optional() }),
      handle: async (input) => ({
        model_version: await registry.updateModelVersion(input.name, input.version, input.description ?? ''),
      }),
    });

    endpoint(app, {
      method: 'DELETE',
      path: '/model-versions/delete',
      permission: write,
      summary: 'Delete a model version',
      input: z.object(nameVersion),
      handle: async (input) => {
        await registry.deleteModelVersion(input.name, input.version);
        return {};
      },
    });

    endpoint(app, {
      method: ['GET', 'POST'],
      path: '/model-versions/search',
      permission: read,
      summary: 'Search model versions',
      input: search,
      handle: async (input) => {
        const page = await registry.searchModelVersions(searchArgs(input));
        return {
          ...(page.items.length > 0 && { model_versions: page.items }),
          ...(page.nextPageToken !== undefined && { next_page_token: page.nextPageToken }),
        };
      },
    });

    endpoint(app, {
      method: 'GET',
      path: '/model-versions/get-download-uri',
      permission: read,
      summary: "Where a version's files are",
      input: z.object(nameVersion),
      handle: async (input) => ({
        artifact_uri: (await registry.getModelVersion(input.name, input.version)).source,
      }),
    });

    endpoint(app, {
      method: 'POST',
      path: '/model-versions/transition-stage',
      permission: write,
      summary: 'Move a version to a stage (deprecated in MLflow in favour of aliases; kept for old clients)',
      input: z.object({
        ...nameVersion,
        stage: requiredString(),
        archive_existing_versions: bool().optional(),
      }),
      handle: async (input) => ({
        model_version: await registry.transitionStage(
          input.name,
          input.version,
          input.stage,
          input.archive_existing_versions ?? false,
        ),
      }),
    });

    endpoint(app, {
      method: 'POST',
      path: '/model-versions/set-tag',
      permission: write,
      summary: 'Set a tag on a model version',
      input: z.object({ ...nameVersion, key: z.string(), value: z.string() }),
      handle: async (input) => {
        await registry.setModelVersionTag(input.name, input.version, { key: input.key, value: input.value });
        return {};
      },
    });

    endpoint(app, {
      method: 'DELETE',
      path: '/model-versions/delete-tag',
      permission: write,
      summary: 'Delete a tag from a model version',
      input: z.object({ ...nameVersion, key: requiredString() }),
      handle: async (input) => {
        await registry.deleteModelVersionTag(input.name, input.version, input.key);
        return {};
      },
    });

    const versionParams = z.object({ name: requiredString(), version: requiredString() });

    app.get(
      '/api/v1/models/:name/versions/:version',
      {
        config: { permission: read },
        schema: { summary: 'A version with its signature, lineage and model card', tags: ['models'] },
      },
      async (request) => {
        const params = parseInput(versionParams, request.params);
        return registry.getModelVersionDetail(params.name, params.version);
      },
    );

    app.get(
      '/api/v1/models/resolve',
      {
        config: { permission: read },
        schema: {
          summary: 'Resolve name@alias, name/version or name (latest) to a version',
          tags: ['models'],
        },
      },
      async (request) => {
        const { ref } = parseInput(z.object({ ref: requiredString() }), request.query);
        const version = await registry.resolveVersion(ref);
        return registry.getModelVersionDetail(version.name, version.version);
      },
    );

    app.put(
      '/api/v1/models/:name/versions/:version/card',
      {
        config: { permission: write },
        schema: { summary: "Replace a version's model card (markdown)", tags: ['models'] },
      },
      async (request) => {
        const params = parseInput(versionParams, request.params);
        const body = parseInput(z.object({ markdown: z.string().max(1_000_000) }), request.body);
        await registry.setModelCard(params.name, params.version, body.markdown);
        return registry.getModelVersionDetail(params.name, params.version);
      },
    );
  };
}
