import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { invalidParameter } from '../core/errors.js';
import { quoteIdent, quoteString } from '../core/sql-text.js';
import type { FeatureViewDef, SourceDef } from './definitions.js';
import type { FeaturePlan, JoinKey } from './feature-plan.js';
import type { OnlineWrite } from './online/online-store.js';
import { encodeEntityKey } from './online/online-store.js';
import {
  ENTITY_TS,
  fileRelation,
  latestPerKeyQuery,
  pointInTimeQuery,
  ROW_ID,
  sourceRelation,
  sqlTypeOf,
} from './pit-query.js';
import { type RowTransform, runTransform } from './transforms.js';

/** Where historical retrieval reads its entity rows: inline rows, a Parquet/CSV file, or a DuckDB query. */
export type EntitySource =
  | { rows: Record<string, unknown>[] }
  | { path: string }
  | { sql: string; tables?: Record<string, string> };

export interface HistoricalInput {
  plan: FeaturePlan;
  sources: ReadonlyMap<string, SourceDef>;
  transforms: ReadonlyMap<string, RowTransform>;
  entities: EntitySource;
  /** The entity rows' timestamp column (Feast's default: `event_timestamp`). */
  timestampColumn: string;
  /** Write the training set here as Parquet instead of answering rows. */
  outputPath?: string;
  /** Called with 0..100 while DuckDB works. */
  onProgress?: (percent: number) => void;
}

export interface HistoricalResult {
  rowCount: number;
  columns: { name: string; type: string }[];
  rows?: Record<string, unknown>[];
  outputPath?: string;
  /** sha256 of the Parquet file written, for lineage. */
  digest?: string;
}

/** The most rows `historical` answers inline; larger training sets go to Parquet. */
export const MAX_INLINE_ROWS = 100_000;

/**
 * The offline store: DuckDB over the sources' files and queries. Point-in-time joins run as ASOF joins inside
 * DuckDB (no rows pass through JS unless an on-demand transform needs them); materialization streams the
 * latest row per key in chunks, so memory stays bounded whatever the source's size.
 */
export function createOfflineStore(
  options: {
    /** DuckDB's memory limit, e.g. `2GB`; past it, joins and sorts spill to `tempDirectory`. */
    memoryLimit?: string;
    tempDirectory?: string;
    threads?: number;
  } = {},
) {
  let instance: Promise<DuckDBInstance> | undefined;
  const open = async (): Promise<DuckDBConnection> => {
    instance ??= DuckDBInstance.create(':memory:', {
      ...(options.memoryLimit !== undefined && { memory_limit: options.memoryLimit }),
      ...(options.tempDirectory !== undefined && { temp_directory: options.tempDirectory }),
      ...(options.threads !== undefined && { threads: String(options.threads) }),
    });
    const connection = await (await instance).connect();
    // DuckDB 1.5's top-n window rewrite of `QUALIFY row_number() ... = 1` fails an internal assertion on the
    // latest-per-key queries; the plain window plan is correct and streams the same.
    await connection.run("SET disabled_optimizers = 'top_n_window_elimination'");
    return connection;
  };
  const withConnection = async <T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    const connection = await open();
    try {
      return await work(connection);
    } catch (error) {
      throw asUserError(error);
    } finally {
      connection.closeSync();
    }
  };

  return {
    /** The columns (name, DuckDB type) of a source, to check definitions against the data at apply time. */
    describeSource: (source: SourceDef) =>
      withConnection(async (c) => {
        const reader = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${sourceRelation(source)}`);
        return reader
          .getRowObjectsJS()
          .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
      }),

    historical: (input: HistoricalInput): Promise<HistoricalResult> =>
      withConnection(async (c) => historical(c, input)),

    /**
     * Streams the latest row per entity key with an event timestamp in [startMs, endMs) to `onChunk`, about
     * `chunkRows` at a time (awaited before reading on: back-pressure). Answers the number of rows.
     */
    materialize: (input: {
      view: FeatureViewDef;
      source: SourceDef;
      joinKeys: JoinKey[];
      startMs: number;
      endMs: number;
      chunkRows?: number;
      onChunk: (rows: OnlineWrite[]) => Promise<void>;
    }) =>
      withConnection(async (c) => {
        const chunkRows = input.chunkRows ?? 10_000;
        await c.run('SET preserve_insertion_order = false');
        const sql = latestPerKeyQuery(input.view, input.source, input.joinKeys, input.startMs, input.endMs);
        const result = await c.stream(sql);
        const names = input.joinKeys.map((k) => k.name);
        const keyCount = names.length;
        const fields = input.view.fields;
        let pending: OnlineWrite[] = [];
        let total = 0;
        for await (const rows of result.yieldRowsJs()) {
          for (const row of rows) {
            const values: Record<string, unknown> = {};
            fields.forEach((f, i) => {
              values[f.name] = toJson(row[keyCount + 1 + i]);
            });
            pending.push({
              key: encodeEntityKey(names, row.slice(0, keyCount).map(toJson)),
              eventTsMs: Number(row[keyCount]),
              values,
            });
          }
          if (pending.length >= chunkRows) {
            total += pending.length;
            await input.onChunk(pending);
            pending = [];
          }
        }
        if (pending.length > 0) {
          total += pending.length;
          await input.onChunk(pending);
        }
        return total;
      }),

    async close(): Promise<void> {
      if (instance !== undefined) (await instance).closeSync();
      instance = undefined;
    },
  };
}

export type OfflineStore = ReturnType<typeof createOfflineStore>;

async function historical(c: DuckDBConnection, input: HistoricalInput): Promise<HistoricalResult> {
  const { plan } = input;
  const scratch = join(tmpdir(), `slipway-features-${randomUUID()}`);
  try {
    const entityRelation = await entityInput(input.entities, scratch);
    const described = (await c.runAndReadAll(`DESCRIBE SELECT * FROM ${entityRelation}`))
      .getRowObjectsJS()
      .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    const columnNames = described.map((d) => d.name);
    const ts = described.find((d) => d.name === input.timestampColumn);
    if (ts === undefined) {
      throw invalidParameter(
        `entity rows have no timestamp column '${input.timestampColumn}' (columns: ${columnNames.join(', ')})`,
      );
    }
    for (const key of plan.joinKeys) {
      if (!columnNames.includes(key.name)) {
        throw invalidParameter(
          `entity rows have no column '${key.name}', a join key of the requested features (columns: ${columnNames.join(', ')})`,
        );
      }
    }
    for (const f of plan.requestFields) {
      if (!columnNames.includes(f.name)) {
        throw invalidParameter(
          `entity rows have no column '${f.name}', a request field of an on-demand feature view (columns: ${columnNames.join(', ')})`,
        );
      }
    }
    const tsExpression = /INT|DOUBLE|FLOAT|DECIMAL/.test(ts.type)
      ? `make_timestamp(CAST(${quoteIdent(ts.name)} AS BIGINT) * 1000)`
      : `CAST(${quoteIdent(ts.name)} AS TIMESTAMP)`;
    const replaced = plan.joinKeys.map(
      (k) => `CAST(${quoteIdent(k.name)} AS ${sqlTypeOf(k.valueType)}) AS ${quoteIdent(k.name)}`,
    );
    await c.run(
      `CREATE TEMP TABLE __entities AS SELECT *${replaced.length === 0 ? '' : ` REPLACE (${replaced.join(', ')})`}, ` +
        `${tsExpression} AS ${ENTITY_TS}, row_number() OVER () AS ${ROW_ID} FROM ${entityRelation}`,
    );
    const pit = pointInTimeQuery(plan, input.sources, '__entities', columnNames);
    await runWithProgress(c, `CREATE TEMP TABLE __pit AS ${pit}`, input.onProgress);

    const projection = [
      ...columnNames.map((n) => `p.${quoteIdent(n)}`),
      ...plan.requested.map(
        (r) => `${r.onDemand ? 'o' : 'p'}.${quoteIdent(r.internalName)} AS ${quoteIdent(r.outputName)}`,
      ),
    ];
    let from = '__pit p';
    if (plan.onDemand.length > 0) {
      await computeOnDemand(c, input);
      from = `__pit p JOIN __odfv o ON o.${ROW_ID} = p.${ROW_ID}`;
    }
    const finalQuery = `SELECT ${projection.join(', ')} FROM ${from} ORDER BY p.${ROW_ID}`;
    const columns = (await c.runAndReadAll(`DESCRIBE ${finalQuery}`))
      .getRowObjectsJS()
      .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    const rowCount = Number((await c.runAndReadAll('SELECT count(*) FROM __pit')).getRowsJS()[0]?.[0] ?? 0);
    input.onProgress?.(100);
    if (input.outputPath !== undefined) {
      await mkdir(dirname(input.outputPath), { recursive: true });
      await c.run(`COPY (${finalQuery}) TO ${quoteString(input.outputPath)} (FORMAT parquet)`);
      return { rowCount, columns, outputPath: input.outputPath, digest: await sha256File(input.outputPath) };
    }
    if (rowCount > MAX_INLINE_ROWS) {
      throw invalidParameter(
        `the training set has ${rowCount} rows, more than ${MAX_INLINE_ROWS} answered inline: give an output path to write Parquet`,
      );
    }
    const rows = (await c.runAndReadAll(finalQuery))
      .getRowObjectsJS()
      .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toJson(v)])));
    return { rowCount, columns, rows };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Entity rows as a relation; inline rows go through a scratch NDJSON file DuckDB reads with type inference. */
async function entityInput(source: EntitySource, scratch: string): Promise<string> {
  if ('rows' in source) {
    if (source.rows.length === 0) throw invalidParameter('entity_rows: expected at least one row');
    await mkdir(scratch, { recursive: true });
    const file = join(scratch, 'entities.ndjson');
    await writeFile(file, `${source.rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    return `read_json_auto(${quoteString(file)})`;
  }
  if ('path' in source) return `(SELECT * FROM ${fileRelation(source.path)})`;
  const tables = Object.entries(source.tables ?? {});
  const ctes =
    tables.length === 0
      ? ''
      : `WITH ${tables.map(([n, p]) => `${quoteIdent(n)} AS (SELECT * FROM ${fileRelation(p)})`).join(', ')} `;
  return `(${ctes}SELECT * FROM (${source.sql}))`;
}

/**
 * Runs the plan's on-demand transforms over the point-in-time rows, a chunk at a time, into `__odfv` (row id and
 * outputs), through an appender: the same JS functions the online path calls.
 */
async function computeOnDemand(c: DuckDBConnection, input: HistoricalInput): Promise<void> {
  const { plan } = input;
  const outputs = plan.onDemand.flatMap((odfv) =>
    odfv.fields.map((f) => ({ odfv: odfv.name, field: f, column: `${odfv.name}__${f.name}` })),
  );
  await c.run(
    `CREATE TEMP TABLE __odfv (${ROW_ID} BIGINT, ${outputs.map((o) => `${quoteIdent(o.column)} ${sqlTypeOf(o.field.dtype)}`).join(', ')})`,
  );
  const inputColumns: { column: string; field: string }[] = [];
  for (const odfv of plan.onDemand) {
    for (const s of odfv.sources) {
      const read = plan.views.find((v) => v.view.name === s);
      for (const f of read?.fields ?? [])
        if (!inputColumns.some((i) => i.column === `${s}__${f.name}`))
          inputColumns.push({ column: `${s}__${f.name}`, field: f.name });
    }
    for (const f of odfv.request_fields)
      if (!inputColumns.some((i) => i.column === f.name))
        inputColumns.push({ column: f.name, field: f.name });
  }
  const result = await c.stream(
    `SELECT ${ROW_ID}${inputColumns.map((i) => `, ${quoteIdent(i.column)}`).join('')} FROM __pit`,
  );
  const appender = await c.createAppender('__odfv');
  for await (const rows of result.yieldRowsJs()) {
    for (const row of rows) {
      const values: Record<string, unknown> = {};
      inputColumns.forEach((i, index) => {
        values[i.field] = toJson(row[index + 1]);
      });
      appender.appendBigInt(BigInt(row[0] as bigint));
      for (const odfv of plan.onDemand) {
        const out = runTransform(odfv, input.transforms.get(odfv.name) as RowTransform, values);
        for (const f of odfv.fields) appendValue(appender, out[f.name], f.dtype);
      }
      appender.endRow();
    }
  }
  appender.flushSync();
  appender.closeSync();
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendValue(appender: Appender, value: unknown, dtype: string): void {
  if (value === null || value === undefined) appender.appendNull();
  else if (dtype === 'string') appender.appendVarchar(String(value));
  else if (dtype === 'bool') appender.appendBoolean(Boolean(value));
  else if (dtype === 'int64') appender.appendBigInt(BigInt(value as number));
  else if (dtype === 'int32') appender.appendInteger(value as number);
  else if (dtype === 'float32') appender.appendFloat(value as number);
  else appender.appendDouble(value as number);
}

/** Runs a statement while reporting DuckDB's progress estimate (polled: the query runs on DuckDB's threads). */
async function runWithProgress(
  c: DuckDBConnection,
  sql: string,
  onProgress: ((percent: number) => void) | undefined,
): Promise<void> {
  if (onProgress === undefined) {
    await c.run(sql);
    return;
  }
  const timer = setInterval(() => {
    const percent = c.progress.percentage;
    if (percent >= 0) onProgress(Math.min(99, percent));
  }, 200);
  try {
    await c.run(sql);
  } finally {
    clearInterval(timer);
  }
}

/** DuckDB values as JSON: timestamps as ISO strings, 64-bit integers as numbers. */
export function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  return value ?? null;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** DuckDB's own messages (a missing column, a bad cast, a missing file) are the user's mistakes: 400s. */
function asUserError(error: unknown): unknown {
  if (error instanceof Error && !('code' in error && 'status' in error)) {
    const message = error.message;
    if (/Binder Error|Conversion Error|IO Error|Parser Error|Catalog Error|Invalid Input Error/.test(message))
      return invalidParameter(`offline store: ${message.split('\n')[0]}`);
  }
  return error;
}
