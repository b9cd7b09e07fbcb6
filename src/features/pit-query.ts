/**
 * SQL planning for the offline store, pure so it can be read and tested without a database. Every query reads a
 * feature view through `viewRelation` (keys and values cast to their declared types, one row per key and event
 * timestamp), so historical retrieval and materialization agree on what a view holds.
 */

import { quoteIdent, quoteString } from '../core/sql-text.js';
import type { FeatureViewDef, FieldDef, SourceDef, ValueType } from './definitions.js';
import type { FeaturePlan } from './feature-plan.js';

const sqlTypes: Record<ValueType, string> = {
  string: 'VARCHAR',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
};
export const sqlTypeOf = (type: ValueType): string => sqlTypes[type];

/** The entity key column of the entity table, cast to the key's declared type. */
export const ENTITY_TS = '__entity_ts';
export const ROW_ID = '__row_id';

/** A file reader for a Parquet or CSV path (by extension; Parquet otherwise). */
export function fileRelation(path: string): string {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv') || lower.endsWith('.csv.gz') || lower.endsWith('.tsv'))
    return `read_csv_auto(${quoteString(path)})`;
  if (lower.endsWith('.json') || lower.endsWith('.jsonl') || lower.endsWith('.ndjson'))
    return `read_json_auto(${quoteString(path)})`;
  return `read_parquet(${quoteString(path)})`;
}

/** A data source as a parenthesized relation; a query's `tables` become CTEs it can read by name. */
export function sourceRelation(source: SourceDef): string {
  if (source.path !== undefined) return `(SELECT * FROM ${fileRelation(source.path)})`;
  const tables = Object.entries(source.tables ?? {});
  const ctes =
    tables.length === 0
      ? ''
      : `WITH ${tables.map(([name, path]) => `${quoteIdent(name)} AS (SELECT * FROM ${fileRelation(path)})`).join(', ')} `;
  return `(${ctes}SELECT * FROM (${source.query}))`;
}

/**
 * One feature view as `(keys..., __ts, [__created], view__field...)`, with equal (key, event timestamp) rows
 * reduced to the one created last, as Feast breaks ties.
 */
export function viewRelation(
  view: FeatureViewDef,
  source: SourceDef,
  joinKeys: { name: string; valueType: 'string' | 'int64' }[],
  fields: FieldDef[],
): string {
  const keys = joinKeys.map(
    (k) => `CAST(${quoteIdent(k.name)} AS ${sqlTypeOf(k.valueType)}) AS ${quoteIdent(k.name)}`,
  );
  const created = source.created_timestamp_column;
  const columns = [
    ...keys,
    `CAST(${quoteIdent(source.timestamp_field)} AS TIMESTAMP) AS __ts`,
    ...(created === undefined ? [] : [`CAST(${quoteIdent(created)} AS TIMESTAMP) AS __created`]),
    ...fields.map(
      (f) =>
        `CAST(${quoteIdent(f.name)} AS ${sqlTypeOf(f.dtype)}) AS ${quoteIdent(`${view.name}__${f.name}`)}`,
    ),
  ];
  const partition = [...joinKeys.map((k) => quoteIdent(k.name)), '__ts'].join(', ');
  const dedupe =
    created === undefined
      ? ''
      : ` QUALIFY row_number() OVER (PARTITION BY ${partition} ORDER BY __created DESC NULLS LAST) = 1`;
  return `(SELECT ${columns.join(', ')} FROM ${sourceRelation(source)}${dedupe})`;
}

/**
 * The point-in-time join: for each entity row and each view, the latest view row with the same keys whose event
 * timestamp is at or before the row's timestamp (DuckDB ASOF join), its values kept only when no older than the
 * view's ttl. Reads table `entities` (with ROW_ID and ENTITY_TS columns); answers the entity columns then
 * `view__field` for every field the plan reads, in entity row order.
 */
export function pointInTimeQuery(
  plan: FeaturePlan,
  sources: ReadonlyMap<string, SourceDef>,
  entities: string,
  entityColumns: string[],
): string {
  const ctes: string[] = [];
  const joins: string[] = [];
  const selected: string[] = entityColumns.map((c) => `e.${quoteIdent(c)}`);
  plan.views.forEach((read, i) => {
    const source = sources.get(read.view.source) as SourceDef;
    const keys = read.joinKeys.map(
      (name) => plan.joinKeys.find((k) => k.name === name) ?? { name, valueType: 'string' as const },
    );
    const valueColumns = read.fields.map((f) => quoteIdent(`${read.view.name}__${f.name}`));
    ctes.push(`fv_${i} AS ${viewRelation(read.view, source, keys, read.fields)}`);
    const on = [
      ...keys.map((k) => `e.${quoteIdent(k.name)} = f.${quoteIdent(k.name)}`),
      `e.${ENTITY_TS} >= f.__ts`,
    ].join(' AND ');
    ctes.push(
      `j_${i} AS (SELECT e.${ROW_ID}, f.__ts AS __ts, ${valueColumns.map((c) => `f.${c}`).join(', ')} ` +
        `FROM ${entities} e ASOF LEFT JOIN fv_${i} f ON ${on})`,
    );
    joins.push(`LEFT JOIN j_${i} ON j_${i}.${ROW_ID} = e.${ROW_ID}`);
    const ttlMs = read.view.ttl_ms;
    for (const column of valueColumns) {
      selected.push(
        ttlMs > 0
          ? `CASE WHEN j_${i}.__ts >= e.${ENTITY_TS} - to_milliseconds(${ttlMs}) THEN j_${i}.${column} END AS ${column}`
          : `j_${i}.${column} AS ${column}`,
      );
    }
    selected.push(`j_${i}.__ts AS ${quoteIdent(`__ts_${read.view.name}`)}`);
  });
  const withClause = ctes.length === 0 ? '' : `WITH ${ctes.join(',\n')}\n`;
  return `${withClause}SELECT e.${ROW_ID}, ${selected.join(', ')} FROM ${entities} e ${joins.join(' ')} ORDER BY e.${ROW_ID}`;
}

/**
 * Materialization: per entity key, the latest row with an event timestamp in [startMs, endMs), values cast as
 * declared, event timestamp as epoch ms. Streams in key order-free chunks.
 */
export function latestPerKeyQuery(
  view: FeatureViewDef,
  source: SourceDef,
  joinKeys: { name: string; valueType: 'string' | 'int64' }[],
  startMs: number,
  endMs: number,
): string {
  const keys = joinKeys.map((k) => quoteIdent(k.name));
  const order =
    source.created_timestamp_column === undefined ? '__ts DESC' : '__ts DESC, __created DESC NULLS LAST';
  const values = view.fields.map((f) => quoteIdent(`${view.name}__${f.name}`));
  return (
    `SELECT ${keys.join(', ')}, epoch_ms(__ts) AS __ts_ms, ${values.join(', ')} ` +
    `FROM ${viewRelation(view, source, joinKeys, view.fields)} ` +
    `WHERE __ts >= make_timestamp(${Math.trunc(startMs)}::BIGINT * 1000) AND __ts < make_timestamp(${Math.trunc(endMs)}::BIGINT * 1000) ` +
    `QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${order}) = 1`
  );
}
