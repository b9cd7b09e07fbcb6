import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { invalidParameter, invalidState, notFound } from '../core/errors.js';
import type { MetadataDb } from '../storage/index.js';
import type { DatasetInput } from '../tracking/index.js';
import {
  type Definitions,
  type FeatureViewDef,
  type OnDemandDef,
  parseDefinitions,
  type SourceDef,
} from './definitions.js';
import { type DefinitionChange, diffDefinitions } from './diff.js';
import { type FeaturePlan, internalName, planFeatures } from './feature-plan.js';
import type { HistoricalResult, OfflineStore } from './offline-store.js';
import {
  type EntityKeyEncoder,
  encodeEntityKey,
  entityKeyEncoder,
  type OnlineStore,
} from './online/online-store.js';
import { createFeatureStore } from './store.js';
import { buildTrainingSet, type TrainingSetRequest, trainingSetDataset } from './training-set.js';
import { coerce, loadTransform, type RowTransform, runTransform } from './transforms.js';

export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE';

/** Feast's online response: column-major, entity key columns first. */
export interface OnlineFeaturesResponse {
  /** Shared by every response of one request shape: read it, never change it. */
  metadata: { feature_names: readonly string[] };
  results: { values: unknown[]; statuses: FeatureStatus[]; event_timestamps: string[] }[];
}

export interface OnlineFeaturesRequest {
  features?: string[] | undefined;
  featureService?: string | undefined;
  /** Join key (and request field) -> one value per entity row. */
  entities: Record<string, unknown[]>;
  fullFeatureNames?: boolean | undefined;
}

/** A point-in-time training set request, as the offline side builds it. */
export type HistoricalRequest = TrainingSetRequest;

export interface MaterializeResult {
  view: string;
  start_ms: number;
  end_ms: number;
  rows: number;
  written: number;
}

export interface EndpointBinding {
  endpoint: string;
  feature_service: string;
  /** Join key -> the request input (column) carrying it; a key not listed travels under its own name. */
  entity_inputs: Record<string, string>;
  updated_at: number;
}

export interface FeatureDeps {
  metadata: MetadataDb;
  online: OnlineStore;
  offline: OfflineStore;
  clock: Clock;
  /** Logs training sets as run inputs (lineage). */
  logInputs?: (runId: string, datasets: DatasetInput[]) => Promise<void>;
  log?: (message: string, fields?: object) => void;
}

interface Current {
  version: number;
  defs: Definitions;
  sources: Map<string, SourceDef>;
  views: Map<string, FeatureViewDef>;
  transforms: Map<string, RowTransform>;
  plans: Map<string, OnlineLayout>;
  /** The last request shape served, with its layout. */
  recent?: {
    features: string[] | undefined;
    featureService: string | undefined;
    full: boolean;
    layout: OnlineLayout;
  };
}

type ViewValues = Record<string, unknown>;

/** Where an online plan's columns go in the response, resolved once per request shape. */
interface OnlineLayout {
  plan: FeaturePlan;
  /** Join keys, then the requested features' output names: every response of this shape shares the array. */
  featureNames: readonly string[];
  views: {
    view: FeatureViewDef;
    encodeKey: EntityKeyEncoder;
    /** The view's requested fields and their result slots (fields read only for transforms have none). */
    outputs: { field: string; slot: number }[];
  }[];
  /** Per transform, the result slot of each of its fields (-1: computed but not requested). */
  onDemand: { odfv: OnDemandDef; slots: number[] }[];
}

function onlineLayoutOf(plan: FeaturePlan): OnlineLayout {
  const slotOf = new Map(plan.requested.map((r, i) => [r.internalName, plan.joinKeys.length + i]));
  return {
    plan,
    featureNames: Object.freeze([
      ...plan.joinKeys.map((k) => k.name),
      ...plan.requested.map((r) => r.outputName),
    ]),
    views: plan.views.map((read) => ({
      view: read.view,
      encodeKey: entityKeyEncoder(read.joinKeys),
      outputs: read.fields.flatMap((f) => {
        const slot = slotOf.get(internalName(read.view.name, f.name));
        return slot === undefined ? [] : [{ field: f.name, slot }];
      }),
    })),
    onDemand: plan.onDemand.map((odfv) => ({
      odfv,
      slots: odfv.fields.map((f) => slotOf.get(internalName(odfv.name, f.name)) ?? -1),
    })),
  };
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const EPOCH = '1970-01-01T00:00:00Z';
const MAX_ONLINE_ROWS = 10_000;

/**
 * The feature store: versioned definitions, historical retrieval (point-in-time joins in DuckDB),
 * materialization into the online store, online reads with TTL, pushes, and endpoint bindings.
 */
export function createFeatureService(deps: FeatureDeps) {
  const store = createFeatureStore(deps.metadata);
  let current: Current | undefined;
  const bindings = new Map<string, EndpointBinding>();
  let watcher: NodeJS.Timeout | undefined;

  const build = async (version: number, defs: Definitions): Promise<Current> => {
    const transforms = new Map<string, RowTransform>();
    for (const odfv of defs.on_demand_feature_views) transforms.set(odfv.name, await loadTransform(odfv));
    return {
      version,
      defs,
      sources: new Map(defs.sources.map((s) => [s.name, s])),
      views: new Map(defs.feature_views.map((v) => [v.name, v])),
      transforms,
      plans: new Map(),
    };
  };

  const active = (): Current => {
    if (current === undefined) {
      throw invalidState('no feature definitions applied yet: run `slipway features apply features.yaml`');
    }
    return current;
  };

  /**
   * Plans and their online layouts are cached per request shape: the online hot path resolves references once.
   * The last shape is compared field by field first, so a client repeating its request builds no cache key.
   */
  const onlineLayoutFor = (input: {
    features?: string[] | undefined;
    featureService?: string | undefined;
    fullFeatureNames?: boolean | undefined;
  }): OnlineLayout => {
    const c = active();
    const full = input.fullFeatureNames === true;
    const recent = c.recent;
    if (
      recent !== undefined &&
      recent.featureService === input.featureService &&
      recent.full === full &&
      sameStrings(recent.features, input.features)
    )
      return recent.layout;
    const key = `${input.featureService ?? ''}|${full ? 1 : 0}|${input.features?.join(',') ?? ''}`;
    let layout = c.plans.get(key);
    if (layout === undefined) {
      layout = onlineLayoutOf(planFeatures(c.defs, input));
      if (c.plans.size < 1000) c.plans.set(key, layout);
    }
    c.recent = {
      features: input.features === undefined ? undefined : [...input.features],
      featureService: input.featureService,
      full,
      layout,
    };
    return layout;
  };
  const planFor = (input: { featureService: string }): FeaturePlan => onlineLayoutFor(input).plan;

  /** Checks that each source has the timestamp, key and field columns its views declare. */
  const checkAgainstData = async (defs: Definitions): Promise<void> => {
    for (const view of defs.feature_views) {
      const source = defs.sources.find((s) => s.name === view.source) as SourceDef;
      const columns = new Set((await deps.offline.describeSource(source)).map((c) => c.name));
      const keys = view.entities.flatMap((e) => {
        const entity = defs.entities.find((d) => d.name === e);
        return entity?.join_keys ?? [e];
      });
      const needed = [
        source.timestamp_field,
        ...(source.created_timestamp_column === undefined ? [] : [source.created_timestamp_column]),
        ...keys,
        ...view.fields.map((f) => f.name),
      ];
      for (const column of needed) {
        if (!columns.has(column)) {
          throw invalidParameter(
            `feature view '${view.name}': source '${source.name}' has no column '${column}' (columns: ${[...columns].join(', ')})`,
          );
        }
      }
    }
  };

  const service = {
    /** The online store's kind, `sqlite` (embedded) or `redis`, for metrics and status. */
    onlineStoreKind: deps.online.kind,

    /** Loads the current definitions and endpoint bindings (at start, and to pick up another process's apply). */
    async refresh(): Promise<void> {
      const latest = await store.latestVersion();
      // Only ever forward: an apply in this process may have moved past what this read saw.
      if (latest !== undefined && latest.version > (current?.version ?? 0)) {
        const next = await build(latest.version, JSON.parse(latest.definitions_json) as Definitions);
        if (next.version > (current?.version ?? 0)) current = next;
      }
      const rows = await store.bindings();
      bindings.clear();
      for (const row of rows) {
        bindings.set(row.endpoint, {
          endpoint: row.endpoint,
          feature_service: row.feature_service,
          entity_inputs: JSON.parse(row.entity_inputs_json) as Record<string, string>,
          updated_at: Number(row.updated_at),
        });
      }
    },

    /**
     * Applies a definitions document (paths already absolute): answers the diff against the current version and
     * stores a new version unless `dryRun`. Destructive changes (removals, changed keys or types) need `force`;
     * a forced removal of a view also drops its online values.
     */
    async apply(input: { definitions: unknown; force?: boolean; dryRun?: boolean; actor?: string }) {
      const defs = parseDefinitions(input.definitions);
      await checkAgainstData(defs);
      // Diff against what is in the database, which another process may have moved on.
      await service.refresh();
      const built = await build(0, defs);
      const before = current?.defs;
      const changes = diffDefinitions(before, defs);
      const destructive = changes.filter((c) => c.destructive);
      const version = (current?.version ?? 0) + (changes.length > 0 ? 1 : 0);
      if (input.dryRun === true || changes.length === 0) {
        return { version, applied: false, changes };
      }
      if (destructive.length > 0 && input.force !== true) {
        throw invalidState(
          `refusing destructive changes without force: ${destructive.map(describeChange).join('; ')}`,
        );
      }
      const definitionsJson = JSON.stringify(defs);
      try {
        await store.insertVersion({
          version,
          project: defs.project,
          digest: createHash('sha256').update(definitionsJson).digest('hex'),
          definitions_json: definitionsJson,
          changes_json: JSON.stringify(changes),
          actor: input.actor ?? 'api',
          applied_at: deps.clock.nowMs(),
        });
      } catch (error) {
        // The version number is the primary key: a concurrent apply took it first.
        throw invalidState(
          `another apply stored version ${version} first; review the new diff and apply again (${(error as Error).message})`,
        );
      }
      for (const change of changes) {
        const dropsValues =
          change.kind === 'feature_view' &&
          (change.change === 'removed' || (change.change === 'changed' && change.destructive));
        if (dropsValues) await deps.online.deleteView(change.name);
      }
      current = { ...built, version };
      return { version, applied: true, changes };
    },

    /** The current definitions and version. */
    registry() {
      const c = active();
      return { version: c.version, definitions: c.defs };
    },

    /** Whether definitions were applied (list and status commands work before). */
    hasDefinitions: () => current !== undefined,

    versions: () => store.versions(),

    /** Entities, views, on-demand views and services, with the last materialized time of each view. */
    async list() {
      if (current === undefined) return { version: 0, objects: [] };
      const c = current;
      const objects: { kind: string; name: string; detail: string }[] = [];
      for (const e of c.defs.entities)
        objects.push({
          kind: 'entity',
          name: e.name,
          detail: `keys ${(e.join_keys ?? [e.name]).join(',')} (${e.value_type})`,
        });
      for (const s of c.defs.sources)
        objects.push({ kind: 'source', name: s.name, detail: s.path ?? 'query' });
      for (const v of c.defs.feature_views) {
        const end = await store.lastMaterializedEnd(v.name);
        objects.push({
          kind: 'feature_view',
          name: v.name,
          detail: `${v.fields.map((f) => f.name).join(',')} ttl=${v.ttl} materialized_to=${end === undefined ? '-' : new Date(end).toISOString()}`,
        });
      }
      for (const o of c.defs.on_demand_feature_views)
        objects.push({
          kind: 'on_demand_feature_view',
          name: o.name,
          detail: o.fields.map((f) => f.name).join(','),
        });
      for (const s of c.defs.feature_services)
        objects.push({ kind: 'feature_service', name: s.name, detail: s.features.join(',') });
      return { version: c.version, objects };
    },

    /** Point-in-time correct features for entity rows (Feast's get_historical_features). */
    async historical(
      input: HistoricalRequest & { runId?: string | undefined; datasetName?: string | undefined },
    ) {
      const c = active();
      const { plan, result } = await buildTrainingSet(deps.offline, c.defs, input, c.transforms);
      if (input.runId !== undefined) {
        if (result.digest === undefined || result.outputPath === undefined) {
          throw invalidParameter(
            'run_id: logging a training set needs an output path (the Parquet file is the dataset)',
          );
        }
        if (deps.logInputs === undefined)
          throw invalidState('tracking is not available to log the training set');
        await deps.logInputs(input.runId, [
          trainingSetDataset(
            input.datasetName ?? input.featureService ?? 'training_set',
            result as HistoricalResult & { digest: string; outputPath: string },
            plan,
            c.version,
          ),
        ]);
      }
      return result;
    },

    /** Feast's get-online-features: latest values per entity, TTL enforced (OUTSIDE_MAX_AGE), transforms applied. */
    async getOnlineFeatures(input: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse> {
      const c = active();
      const layout = onlineLayoutFor(input);
      const plan = layout.plan;
      const rows = entityRowCount(input.entities);
      for (const key of plan.joinKeys) {
        const values = input.entities[key.name];
        if (values === undefined) {
          throw invalidParameter(
            `entities: missing join key '${key.name}' needed by the requested features (given: ${Object.keys(input.entities).join(', ') || 'none'})`,
          );
        }
        checkKeyValues(key.name, key.valueType, values);
      }
      for (const f of plan.requestFields) {
        if (input.entities[f.name] === undefined) {
          throw invalidParameter(
            `entities: missing request field '${f.name}' (${f.dtype}) needed by an on-demand feature view`,
          );
        }
      }
      const nowMs = deps.clock.nowMs();
      // Results are written straight into their output slots (the layout says where each column goes).
      const results = new Array<OnlineFeaturesResponse['results'][number]>(layout.featureNames.length);
      plan.joinKeys.forEach((k, j) => {
        results[j] = {
          values: input.entities[k.name] as unknown[],
          statuses: new Array<FeatureStatus>(rows).fill('PRESENT'),
          event_timestamps: new Array<string>(rows).fill(EPOCH),
        };
      });
      // The values each row of a view holds, kept only when an on-demand transform reads them.
      const valuesByView =
        plan.onDemand.length > 0 ? new Map<string, (ViewValues | undefined)[]>() : undefined;
      for (const read of layout.views) {
        const keys = new Array<string>(rows);
        for (let i = 0; i < rows; i++) keys[i] = read.encodeKey(input.entities, i);
        const records = await deps.online.read(read.view.name, keys);
        const ttlMs = read.view.ttl_ms;
        const statuses = new Array<FeatureStatus>(rows);
        const timestamps = new Array<string>(rows);
        const live = new Array<ViewValues | undefined>(rows);
        for (let i = 0; i < rows; i++) {
          const record = records[i];
          if (record === undefined) {
            statuses[i] = 'NOT_FOUND';
            timestamps[i] = EPOCH;
          } else {
            timestamps[i] = isoTimestamp(record.eventTsMs);
            if (ttlMs > 0 && nowMs - record.eventTsMs > ttlMs) statuses[i] = 'OUTSIDE_MAX_AGE';
            else {
              statuses[i] = 'PRESENT';
              live[i] = record.values;
            }
          }
        }
        valuesByView?.set(read.view.name, live);
        for (const { field, slot } of read.outputs) {
          const values = new Array<unknown>(rows);
          for (let i = 0; i < rows; i++) values[i] = live[i]?.[field] ?? null;
          results[slot] = { values, statuses, event_timestamps: timestamps };
        }
      }
      for (const { odfv, slots } of layout.onDemand) {
        const fn = c.transforms.get(odfv.name) as RowTransform;
        const outputs = odfv.fields.map(() => new Array<unknown>(rows));
        for (let i = 0; i < rows; i++) {
          const row: Record<string, unknown> = {};
          for (const s of odfv.sources) {
            const view = c.views.get(s) as FeatureViewDef;
            const values = valuesByView?.get(s)?.[i];
            for (const f of view.fields) row[f.name] = values === undefined ? null : (values[f.name] ?? null);
          }
          for (const f of odfv.request_fields) row[f.name] = (input.entities[f.name] as unknown[])[i] ?? null;
          const out = runTransform(odfv, fn, row);
          odfv.fields.forEach((f, j) => {
            (outputs[j] as unknown[])[i] = out[f.name];
          });
        }
        slots.forEach((slot, j) => {
          if (slot < 0) return;
          const values = outputs[j] as unknown[];
          results[slot] = {
            values,
            statuses: values.map((v) => (v === null ? 'NOT_FOUND' : 'PRESENT')),
            event_timestamps: new Array<string>(rows).fill(EPOCH),
          };
        });
      }
      // feature_names is the layout's own array, shared by every response of this shape (never mutated).
      return { metadata: { feature_names: layout.featureNames }, results };
    },

    /**
     * Writes fresh values to the online store (Feast's push): `df` is column-major and must hold the view's join
     * keys, its timestamp field (ISO string or epoch ms) and some of its fields.
     */
    async push(input: {
      view: string;
      df: Record<string, unknown[]>;
    }): Promise<{ rows: number; written: number }> {
      const c = active();
      const view = c.views.get(input.view);
      if (view === undefined) {
        throw notFound(
          `push: feature view '${input.view}' does not exist (known: ${[...c.views.keys()].join(', ') || 'none'})`,
        );
      }
      const plan = planFeatures(c.defs, { features: [view.name] });
      const read = plan.views[0] as FeaturePlan['views'][number];
      const source = c.sources.get(view.source) as SourceDef;
      const rows = entityRowCount(input.df);
      for (const key of plan.joinKeys) {
        const values = input.df[key.name];
        if (values === undefined) throw invalidParameter(`df: missing join key column '${key.name}'`);
        checkKeyValues(key.name, key.valueType, values, 'df');
      }
      const tsColumn = input.df[source.timestamp_field] ?? input.df.event_timestamp;
      if (tsColumn === undefined) {
        throw invalidParameter(
          `df: missing timestamp column '${source.timestamp_field}' (ISO 8601 or epoch ms)`,
        );
      }
      const writes = [];
      for (let i = 0; i < rows; i++) {
        const tsMs = parseTimestampMs(tsColumn[i], `df.${source.timestamp_field}[${i}]`);
        const values: Record<string, unknown> = {};
        for (const f of view.fields) {
          const column = input.df[f.name];
          if (column === undefined)
            throw invalidParameter(`df: missing column '${f.name}' of feature view '${view.name}'`);
          values[f.name] = coerce(column[i], f.dtype);
          if (column[i] !== null && values[f.name] === null) {
            throw invalidParameter(
              `df.${f.name}[${i}]: expected a ${f.dtype}, got ${JSON.stringify(column[i])}`,
            );
          }
        }
        writes.push({
          key: encodeEntityKey(
            read.joinKeys,
            read.joinKeys.map((k) => (input.df[k] as unknown[])[i]),
          ),
          eventTsMs: tsMs,
          values,
        });
      }
      const written = await deps.online.write(view.name, writes);
      return { rows, written };
    },

    /** Loads each online view's latest values with event time in [startMs, endMs) into the online store. */
    async materialize(input: { startMs: number; endMs: number; views?: string[] | undefined }) {
      const c = active();
      if (!(input.endMs > input.startMs)) {
        throw invalidParameter(`materialize: end (${input.endMs}) must be after start (${input.startMs})`);
      }
      const results: MaterializeResult[] = [];
      for (const view of selectViews(c, input.views)) {
        results.push(await materializeView(c, view, input.startMs, input.endMs));
      }
      return { results };
    },

    /** Continues each view from the end of its last materialized interval (or now - ttl, or the epoch) to `endMs`. */
    async materializeIncremental(input: { endMs: number; views?: string[] | undefined }) {
      const c = active();
      const results: MaterializeResult[] = [];
      for (const view of selectViews(c, input.views)) {
        const last = await store.lastMaterializedEnd(view.name);
        const startMs = last ?? (view.ttl_ms > 0 ? input.endMs - view.ttl_ms : 0);
        if (startMs >= input.endMs) {
          results.push({ view: view.name, start_ms: startMs, end_ms: input.endMs, rows: 0, written: 0 });
          continue;
        }
        results.push(await materializeView(c, view, startMs, input.endMs));
      }
      return { results };
    },

    materializations: (view?: string) => store.materializations(view),

    /** Binds an endpoint to a feature service: requests carrying entity keys get its features before inference. */
    async bindEndpoint(input: {
      endpoint: string;
      featureService: string;
      entityInputs?: Record<string, string>;
    }) {
      const c = active();
      if (!c.defs.feature_services.some((s) => s.name === input.featureService)) {
        throw notFound(
          `feature_service '${input.featureService}' does not exist (known: ${c.defs.feature_services.map((s) => s.name).join(', ') || 'none'})`,
        );
      }
      const binding: EndpointBinding = {
        endpoint: input.endpoint,
        feature_service: input.featureService,
        entity_inputs: input.entityInputs ?? {},
        updated_at: deps.clock.nowMs(),
      };
      await store.upsertBinding({
        endpoint: binding.endpoint,
        feature_service: binding.feature_service,
        entity_inputs_json: JSON.stringify(binding.entity_inputs),
        updated_at: binding.updated_at,
      });
      bindings.set(binding.endpoint, binding);
      return binding;
    },

    async unbindEndpoint(endpoint: string): Promise<void> {
      const result = await store.deleteBinding(endpoint);
      bindings.delete(endpoint);
      if (Number(result.numDeletedRows) === 0)
        throw notFound(`endpoint '${endpoint}' has no feature binding`);
    },

    listBindings: (): EndpointBinding[] => [...bindings.values()],

    /** The output names of a feature service's features, in order. */
    featureNamesOf: (featureService: string): string[] =>
      planFor({ featureService }).requested.map((r) => r.outputName),

    /** The columns a request for a feature service carries: its join keys, then its request fields. */
    requestColumnsOf: (featureService: string): string[] => {
      const plan = planFor({ featureService });
      return [...plan.joinKeys.map((k) => k.name), ...plan.requestFields.map((f) => f.name)];
    },

    /** Synchronous (a Map lookup), so endpoints without a binding pay nothing. */
    bindingOf: (endpoint: string): EndpointBinding | undefined => bindings.get(endpoint),

    /**
     * Polls the registry for definitions and bindings applied by another process (a serving replica, another
     * control-plane replica), every `intervalMs`. The timer does not keep the process alive.
     */
    watch(intervalMs: number): void {
      if (watcher !== undefined) return;
      watcher = setInterval(() => {
        service.refresh().catch((error: unknown) => deps.log?.('feature registry refresh failed', { error }));
      }, intervalMs);
      watcher.unref();
    },

    async close(): Promise<void> {
      if (watcher !== undefined) clearInterval(watcher);
      watcher = undefined;
      await deps.online.close();
      await deps.offline.close();
    },
  };

  const selectViews = (c: Current, names: string[] | undefined): FeatureViewDef[] => {
    if (names === undefined || names.length === 0) return c.defs.feature_views.filter((v) => v.online);
    return names.map((n) => {
      const view = c.views.get(n);
      if (view === undefined) {
        throw notFound(
          `feature view '${n}' does not exist (known: ${[...c.views.keys()].join(', ') || 'none'})`,
        );
      }
      return view;
    });
  };

  const materializeView = async (
    c: Current,
    view: FeatureViewDef,
    startMs: number,
    endMs: number,
  ): Promise<MaterializeResult> => {
    const startedAt = deps.clock.nowMs();
    const plan = planFeatures(c.defs, { features: [view.name] });
    let written = 0;
    const rows = await deps.offline.materialize({
      view,
      source: c.sources.get(view.source) as SourceDef,
      joinKeys: plan.joinKeys,
      startMs,
      endMs,
      onChunk: async (chunk) => {
        written += await deps.online.write(view.name, chunk);
      },
    });
    await store.recordMaterialization({
      view: view.name,
      start_ms: startMs,
      end_ms: endMs,
      rows,
      started_at: startedAt,
      finished_at: deps.clock.nowMs(),
    });
    return { view: view.name, start_ms: startMs, end_ms: endMs, rows, written };
  };

  return service;
}

export type FeatureService = ReturnType<typeof createFeatureService>;

const isoCache = new Map<number, string>();

/** Feast's timestamp form (`2021-04-12T10:59:42Z`, milliseconds only when there are some); memoized, bounded. */
function isoTimestamp(ms: number): string {
  let text = isoCache.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString().replace('.000Z', 'Z');
    if (isoCache.size >= 10_000) isoCache.clear();
    isoCache.set(ms, text);
  }
  return text;
}

function describeChange(change: DefinitionChange): string {
  return `${change.kind} '${change.name}' ${change.change}${change.details.length > 0 ? ` (${change.details.join(', ')})` : ''}`;
}

/** Every column of a column-major table must have the same length, at least one and at most 10,000. */
function entityRowCount(columns: Record<string, unknown[]>): number {
  let rows: number | undefined;
  for (const [name, values] of Object.entries(columns)) {
    if (!Array.isArray(values)) throw invalidParameter(`entities.${name}: expected an array of values`);
    if (rows === undefined) rows = values.length;
    else if (values.length !== rows) {
      throw invalidParameter(
        `entities.${name}: expected ${rows} values (as many as the other columns), got ${values.length}`,
      );
    }
  }
  if (rows === undefined || rows === 0) throw invalidParameter('entities: expected at least one entity row');
  if (rows > MAX_ONLINE_ROWS)
    throw invalidParameter(`entities: at most ${MAX_ONLINE_ROWS} rows per request, got ${rows}`);
  return rows;
}

function checkKeyValues(name: string, type: 'string' | 'int64', values: unknown[], where = 'entities'): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const ok = type === 'string' ? typeof v === 'string' : typeof v === 'number' && Number.isInteger(v);
    if (!ok) {
      throw invalidParameter(
        `${where}.${name}[${i}]: expected ${type === 'string' ? 'a string' : 'an integer'} (join key '${name}' is ${type}), got ${JSON.stringify(v)}`,
      );
    }
  }
}

function parseTimestampMs(value: unknown, where: string): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw invalidParameter(
      `${where}: expected an ISO 8601 timestamp or epoch milliseconds, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
