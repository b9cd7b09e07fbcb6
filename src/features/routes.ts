import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RoutePermission } from '../auth/index.js';
import { invalidParameter } from '../core/errors.js';
import { isJsonObject, isNonEmptyString, parseInput, parseInputInPlace } from '../core/request-input.js';
import type { FeatureMetrics } from './metrics.js';
import type { FeatureService, OnlineFeaturesResponse } from './service.js';

const read: RoutePermission = { action: 'read', resource: 'feature' };
const write: RoutePermission = { action: 'write', resource: 'feature' };

/** Feast's request: `features` or `feature_service`, column-major `entities`. */
const onlineSchema = z.object({
  features: z.array(z.string().min(1)).optional(),
  feature_service: z.string().min(1).optional(),
  entities: z.record(z.string(), z.array(z.unknown(), { error: 'expected an array of values' })),
  full_feature_names: z.boolean().optional(),
});

/** Whether a body is an online request exactly as the schema would accept it (this route has a latency target). */
function isWellFormedOnline(body: unknown): boolean {
  if (!isJsonObject(body)) return false;
  const { features, feature_service, full_feature_names, entities } = body;
  return (
    (features === undefined || (Array.isArray(features) && features.every(isNonEmptyString))) &&
    (feature_service === undefined || isNonEmptyString(feature_service)) &&
    (full_feature_names === undefined || typeof full_feature_names === 'boolean') &&
    isJsonObject(entities) &&
    Object.values(entities).every(Array.isArray)
  );
}

const pushSchema = z.object({
  push_source_name: z.string().min(1).optional(),
  feature_view: z.string().min(1).optional(),
  df: z.record(z.string(), z.array(z.unknown(), { error: 'expected an array of values' })),
  to: z.enum(['online', 'online_and_offline']).optional(),
});

const timestamp = z.union([z.number(), z.string().min(1)]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 timestamp or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const historicalSchema = z.object({
  features: z.array(z.string().min(1)).optional(),
  feature_service: z.string().min(1).optional(),
  entity_rows: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
  /** A Parquet/CSV file or a DuckDB query the server can read. */
  entity_path: z.string().min(1).optional(),
  entity_sql: z.string().min(1).optional(),
  timestamp_column: z.string().min(1).optional(),
  full_feature_names: z.boolean().optional(),
  output_path: z.string().min(1).optional(),
  run_id: z.string().min(1).optional(),
  dataset_name: z.string().min(1).optional(),
});

const bindingSchema = z.object({
  feature_service: z.string().min(1),
  entity_inputs: z.record(z.string(), z.string().min(1)).optional(),
});

/** The feature store's HTTP API: Feast's `/get-online-features` and `/push`, and Slipway's `/api/v1/features`. */
export function featureRoutes(features: FeatureService, metrics?: FeatureMetrics) {
  const duration = metrics?.onlineDuration(features.onlineStoreKind);
  return async (app: FastifyInstance): Promise<void> => {
    app.post(
      '/get-online-features',
      {
        config: { permission: read },
        schema: {
          summary: "Latest feature values for entities (Feast's API), TTL enforced",
          tags: ['features'],
        },
      },
      async (request, reply) => {
        const started = performance.now();
        const body = parseInputInPlace(onlineSchema, request.body, isWellFormedOnline);
        const response = await features.getOnlineFeatures({
          features: body.features,
          featureService: body.feature_service,
          entities: body.entities,
          fullFeatureNames: body.full_feature_names,
        });
        const json = serializeOnlineResponse(response);
        duration?.observe((performance.now() - started) / 1000);
        return reply.type('application/json; charset=utf-8').send(json);
      },
    );

    app.post(
      '/push',
      {
        config: { permission: write },
        schema: { summary: "Push fresh values to the online store (Feast's API)", tags: ['features'] },
      },
      async (request) => {
        const body = parseInput(pushSchema, request.body);
        const view = body.feature_view ?? body.push_source_name;
        if (view === undefined) {
          throw invalidParameter(
            "Missing value for required parameter 'push_source_name' (or 'feature_view')",
          );
        }
        return features.push({ view, df: body.df });
      },
    );

    app.post(
      '/api/v1/features/apply',
      {
        config: { permission: write },
        schema: {
          summary: 'Apply feature definitions (diff; destructive changes need force)',
          tags: ['features'],
        },
      },
      async (request) => {
        const body = parseInput(
          z.object({
            definitions: z.record(z.string(), z.unknown()),
            force: z.boolean().optional(),
            dry_run: z.boolean().optional(),
          }),
          request.body,
        );
        const actor = request.headers['x-slipway-actor'];
        return features.apply({
          definitions: body.definitions,
          ...(body.force !== undefined && { force: body.force }),
          ...(body.dry_run !== undefined && { dryRun: body.dry_run }),
          ...(typeof actor === 'string' && actor !== '' && { actor: actor.slice(0, 200) }),
        });
      },
    );

    app.get(
      '/api/v1/features/registry',
      { config: { permission: read }, schema: { summary: 'The current definitions', tags: ['features'] } },
      async () => features.registry(),
    );
    app.get(
      '/api/v1/features',
      {
        config: { permission: read },
        schema: { summary: 'Entities, views and services', tags: ['features'] },
      },
      async () => features.list(),
    );
    app.get(
      '/api/v1/features/versions',
      {
        config: { permission: read },
        schema: { summary: 'Applied versions and their diffs', tags: ['features'] },
      },
      async () => ({
        versions: (await features.versions()).map((v) => ({
          version: v.version,
          project: v.project,
          digest: v.digest,
          actor: v.actor,
          applied_at: Number(v.applied_at),
          changes: JSON.parse(v.changes_json) as unknown,
        })),
      }),
    );

    app.post(
      '/api/v1/features/materialize',
      {
        config: { permission: write },
        schema: {
          summary: 'Load [start, end) from the offline sources into the online store',
          tags: ['features'],
        },
      },
      async (request) => {
        const body = parseInput(
          z.object({ start: timestamp, end: timestamp, views: z.array(z.string().min(1)).optional() }),
          request.body,
        );
        return features.materialize({ startMs: body.start, endMs: body.end, views: body.views });
      },
    );
    app.post(
      '/api/v1/features/materialize-incremental',
      {
        config: { permission: write },
        schema: { summary: 'Continue each view from its last materialized end', tags: ['features'] },
      },
      async (request) => {
        const body = parseInput(
          z.object({ end: timestamp.optional(), views: z.array(z.string().min(1)).optional() }),
          request.body ?? {},
        );
        return features.materializeIncremental({ endMs: body.end ?? Date.now(), views: body.views });
      },
    );
    app.get(
      '/api/v1/features/materializations',
      { config: { permission: read }, schema: { summary: 'Materialized intervals', tags: ['features'] } },
      async (request) => {
        const { view } = parseInput(z.object({ view: z.string().min(1).optional() }), request.query);
        return {
          materializations: (await features.materializations(view)).map((m) => ({
            view: m.view,
            start_ms: Number(m.start_ms),
            end_ms: Number(m.end_ms),
            rows: Number(m.rows),
            finished_at: Number(m.finished_at),
          })),
        };
      },
    );

    app.post(
      '/api/v1/features/historical',
      {
        // Entity paths, SQL and output paths are read and written by the server process: a write permission.
        config: { permission: write },
        schema: { summary: 'Point-in-time correct training set', tags: ['features'] },
      },
      async (request) => {
        const body = parseInput(historicalSchema, request.body);
        const given = [body.entity_rows, body.entity_path, body.entity_sql].filter((e) => e !== undefined);
        if (given.length !== 1) {
          throw invalidParameter("expected exactly one of 'entity_rows', 'entity_path' or 'entity_sql'");
        }
        const result = await features.historical({
          features: body.features,
          featureService: body.feature_service,
          entities:
            body.entity_rows !== undefined
              ? { rows: body.entity_rows }
              : body.entity_path !== undefined
                ? { path: body.entity_path }
                : { sql: body.entity_sql as string },
          timestampColumn: body.timestamp_column,
          fullFeatureNames: body.full_feature_names,
          outputPath: body.output_path,
          runId: body.run_id,
          datasetName: body.dataset_name,
        });
        return {
          row_count: result.rowCount,
          columns: result.columns,
          ...(result.rows !== undefined && { rows: result.rows }),
          ...(result.outputPath !== undefined && { output_path: result.outputPath }),
          ...(result.digest !== undefined && { digest: result.digest }),
        };
      },
    );

    app.get(
      '/api/v1/features/endpoint-bindings',
      { config: { permission: read }, schema: { summary: 'Endpoint bindings', tags: ['features'] } },
      async () => ({ bindings: features.listBindings() }),
    );
    app.put(
      '/api/v1/features/endpoint-bindings/:endpoint',
      {
        config: { permission: write },
        schema: { summary: "Enrich an endpoint's requests with a feature service", tags: ['features'] },
      },
      async (request) => {
        const { endpoint } = parseInput(z.object({ endpoint: z.string().min(1) }), request.params);
        const body = parseInput(bindingSchema, request.body);
        return features.bindEndpoint({
          endpoint,
          featureService: body.feature_service,
          ...(body.entity_inputs !== undefined && { entityInputs: body.entity_inputs }),
        });
      },
    );
    app.delete(
      '/api/v1/features/endpoint-bindings/:endpoint',
      { config: { permission: write }, schema: { summary: 'Remove a binding', tags: ['features'] } },
      async (request) => {
        const { endpoint } = parseInput(z.object({ endpoint: z.string().min(1) }), request.params);
        await features.unbindEndpoint(endpoint);
        return {};
      },
    );
  };
}

/** The response's head per feature_names array: the service shares one array among responses of one shape. */
const headOf = new WeakMap<readonly string[], string>();

/**
 * The online response as JSON, built as one string in order. A view's fields share their statuses and
 * timestamps arrays and come view by view, so each shared pair is encoded once, with the head (the feature
 * names) cached: per field only its values are encoded.
 */
export function serializeOnlineResponse(response: OnlineFeaturesResponse): string {
  const names = response.metadata.feature_names;
  let out = headOf.get(names);
  if (out === undefined) {
    out = `{"metadata":{"feature_names":${JSON.stringify(names)}},"results":[`;
    headOf.set(names, out);
  }
  let statuses: unknown[] | undefined;
  let timestamps: unknown[] | undefined;
  let tail = '';
  const results = response.results;
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as OnlineFeaturesResponse['results'][number];
    if (r.statuses !== statuses || r.event_timestamps !== timestamps) {
      statuses = r.statuses;
      timestamps = r.event_timestamps;
      tail = `,"statuses":${JSON.stringify(statuses)},"event_timestamps":${JSON.stringify(timestamps)}}`;
    }
    out += (i === 0 ? '{"values":' : ',{"values":') + JSON.stringify(r.values) + tail;
  }
  return `${out}]}`;
}
