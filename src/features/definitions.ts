import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { invalidParameter } from '../core/errors.js';

/** Value types of fields and entity keys, Feast's names in lower case. */
export const valueTypes = ['string', 'int32', 'int64', 'float32', 'float64', 'bool'] as const;
export type ValueType = (typeof valueTypes)[number];

const name = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a name of letters, digits and underscores (not first)');

/** `30s`, `15m`, `2h`, `7d`, `1w`, a number of seconds, or 0 (no limit). */
export function parseTtlMs(value: string | number): number {
  if (typeof value === 'number') {
    if (!(value >= 0)) throw invalidParameter(`ttl: expected a non-negative duration, got ${value}`);
    return value * 1000;
  }
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(value.trim());
  if (match === null) throw invalidParameter(`ttl: expected a duration such as 2h, 7d or 0, got '${value}'`);
  const unit = (match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd' | 'w';
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit];
  return Math.round(Number(match[1]) * unitMs);
}

// The duration stays as written (so a normalized document parses again to the same thing); `ttl_ms` is derived.
const ttl = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  try {
    parseTtlMs(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const field = z.object({ name, dtype: z.enum(valueTypes) });

const entitySchema = z.object({
  name,
  /** Feast allows several join keys per entity; one is the common case, and the default is the entity's name. */
  join_keys: z.array(name).min(1).optional(),
  value_type: z.enum(['string', 'int64']).default('string'),
  description: z.string().optional(),
});

const sourceSchema = z
  .object({
    name,
    /** A Parquet or CSV file (or glob), relative to the definitions file. */
    path: z.string().min(1).optional(),
    /** A DuckDB query; the files it reads are named in `tables` so paths stay relative to the definitions file. */
    query: z.string().min(1).optional(),
    tables: z.record(name, z.string().min(1)).optional(),
    timestamp_field: z.string().min(1).default('event_timestamp'),
    created_timestamp_column: z.string().min(1).optional(),
    description: z.string().optional(),
  })
  .refine((s) => (s.path === undefined) !== (s.query === undefined), {
    message: "expected exactly one of 'path' (a Parquet/CSV file) or 'query' (DuckDB SQL)",
  });

const featureViewSchema = z
  .object({
    name,
    entities: z.array(name).min(1, 'expected at least one entity'),
    source: name,
    /** How long a value stays valid after its event timestamp (`2h`, `7d`; a number is seconds); 0: forever. */
    ttl: ttl.default(0),
    fields: z.array(field).min(1, 'expected at least one field'),
    online: z.boolean().default(true),
    description: z.string().optional(),
  })
  .transform((view) => ({ ...view, ttl_ms: parseTtlMs(view.ttl) }));

const onDemandSchema = z.object({
  name,
  /** Feature views whose fields the function reads (all their fields are passed in). */
  sources: z.array(name).default([]),
  /** Values the request (or the entity rows, offline) carries, not stored anywhere. */
  request_fields: z.array(field).default([]),
  /** A JS/TS module, relative to the definitions file, and the exported function to call per row. */
  module: z.string().min(1),
  function: z.string().min(1).default('default'),
  fields: z.array(field).min(1, 'expected at least one output field'),
  description: z.string().optional(),
});

const featureServiceSchema = z.object({
  name,
  /** `view:field` references, or a view name for all of its fields. */
  features: z.array(z.string().min(1)).min(1, 'expected at least one feature'),
  description: z.string().optional(),
});

/** The definitions document (`features.yaml`), as users write it. */
export const definitionsSchema = z.object({
  project: name.default('default'),
  entities: z.array(entitySchema).default([]),
  sources: z.array(sourceSchema).default([]),
  feature_views: z.array(featureViewSchema).default([]),
  on_demand_feature_views: z.array(onDemandSchema).default([]),
  feature_services: z.array(featureServiceSchema).default([]),
});

export type Definitions = z.output<typeof definitionsSchema>;
export type EntityDef = Definitions['entities'][number];
export type SourceDef = Definitions['sources'][number];
export type FeatureViewDef = Definitions['feature_views'][number];
export type OnDemandDef = Definitions['on_demand_feature_views'][number];
export type FeatureServiceDef = Definitions['feature_services'][number];
export type FieldDef = z.output<typeof field>;

/** The join keys of an entity (its own name when none are declared). */
export const joinKeysOf = (entity: EntityDef): string[] => entity.join_keys ?? [entity.name];

/**
 * Checks a parsed document's references (views name known entities and sources, services name known
 * features, names are unique); the first problem becomes a 400 naming the object and the field.
 */
export function checkReferences(defs: Definitions): void {
  const unique = (kind: string, names: string[]) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) throw invalidParameter(`${kind} '${n}' is defined twice`);
      seen.add(n);
    }
  };
  unique(
    'entity',
    defs.entities.map((e) => e.name),
  );
  unique(
    'source',
    defs.sources.map((s) => s.name),
  );
  unique('feature view', [
    ...defs.feature_views.map((v) => v.name),
    ...defs.on_demand_feature_views.map((v) => v.name),
  ]);
  unique(
    'feature service',
    defs.feature_services.map((s) => s.name),
  );
  const entities = new Set(defs.entities.map((e) => e.name));
  const sources = new Set(defs.sources.map((s) => s.name));
  const views = new Map(defs.feature_views.map((v) => [v.name, v]));
  for (const view of defs.feature_views) {
    for (const e of view.entities) {
      if (!entities.has(e)) {
        throw invalidParameter(
          `feature view '${view.name}': entities names '${e}', which is not a defined entity (known: ${[...entities].join(', ') || 'none'})`,
        );
      }
    }
    if (!sources.has(view.source)) {
      throw invalidParameter(
        `feature view '${view.name}': source '${view.source}' is not a defined source (known: ${[...sources].join(', ') || 'none'})`,
      );
    }
    unique(
      `field of feature view '${view.name}':`,
      view.fields.map((f) => f.name),
    );
  }
  for (const odfv of defs.on_demand_feature_views) {
    for (const s of odfv.sources) {
      if (!views.has(s)) {
        throw invalidParameter(
          `on-demand feature view '${odfv.name}': source '${s}' is not a defined feature view`,
        );
      }
    }
  }
  const odfvs = new Map(defs.on_demand_feature_views.map((v) => [v.name, v]));
  for (const service of defs.feature_services) {
    for (const ref of service.features) {
      const [viewName, fieldName] = ref.split(':');
      const fields =
        views.get(viewName ?? '')?.fields.map((f) => f.name) ??
        odfvs.get(viewName ?? '')?.fields.map((f) => f.name);
      if (fields === undefined) {
        throw invalidParameter(
          `feature service '${service.name}': '${ref}' names no feature view '${viewName}'`,
        );
      }
      if (fieldName !== undefined && !fields.includes(fieldName)) {
        throw invalidParameter(
          `feature service '${service.name}': feature view '${viewName}' has no field '${fieldName}' (fields: ${fields.join(', ')})`,
        );
      }
    }
  }
}

/** Parses and checks a document (an already-decoded object), with file paths resolved against `baseDir`. */
export function parseDefinitions(input: unknown, baseDir?: string): Definitions {
  const result = definitionsSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : issue.path.map(String).join('.');
    throw invalidParameter(
      `features definitions: ${where === '' ? '' : `'${where}': `}${issue?.message ?? 'invalid document'}`,
    );
  }
  const defs = result.data;
  if (baseDir !== undefined) {
    const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
    for (const source of defs.sources) {
      if (source.path !== undefined) source.path = abs(source.path);
      if (source.tables !== undefined) {
        source.tables = Object.fromEntries(Object.entries(source.tables).map(([k, v]) => [k, abs(v)]));
      }
    }
    for (const odfv of defs.on_demand_feature_views) odfv.module = abs(odfv.module);
  }
  checkReferences(defs);
  return defs;
}

/** Reads a `features.yaml` (or `.json`) file; relative paths in it are relative to the file. */
export async function loadDefinitionsFile(path: string): Promise<Definitions> {
  const text = await readFile(path, 'utf8');
  let decoded: unknown;
  try {
    decoded = parseYaml(text);
  } catch (error) {
    throw invalidParameter(`${path}: not valid YAML: ${(error as Error).message}`);
  }
  return parseDefinitions(decoded, dirname(resolve(path)));
}
