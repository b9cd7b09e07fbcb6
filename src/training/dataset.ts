import { extname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { invalidParameter } from '../core/errors.js';
import { seededRandom } from '../core/random.js';
import { quoteIdent } from '../core/sql-text.js';

/** Seeded randomness (the split, sampling), shared with the rest of the project. */
export { seededRandom };

/**
 * Tabular data in columns, as the trainer and the gate consume it: numerics as Float64Array (NaN = missing),
 * categoricals as strings ('' = missing), and an optional numeric label.
 */
export interface TabularData {
  rowCount: number;
  numeric: Record<string, Float64Array>;
  categorical: Record<string, string[]>;
  label?: Float64Array;
}

/** Where rows come from: a Parquet/CSV/JSON file, or a SQL query DuckDB can run (it may read files itself). */
export type DataSource = { file: string } | { sql: string };

export interface ReadTabularOptions {
  source: DataSource;
  numeric?: readonly string[];
  categorical?: readonly string[];
  label?: string;
  /** A SQL condition on the source's columns, e.g. `origin = 'SEA'`. */
  where?: string;
  /** Reads at most this many rows (in the source's order). */
  limit?: number;
}

const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** The SQL relation of a source: `read_parquet('f')`, `read_csv_auto('f')`, ... or `(query)`. */
export function sourceRelation(source: DataSource): string {
  if ('sql' in source) return `(${source.sql})`;
  const extension = extname(source.file).toLowerCase();
  const reader =
    extension === '.parquet'
      ? 'read_parquet'
      : extension === '.csv' || extension === '.tsv'
        ? 'read_csv_auto'
        : extension === '.json' || extension === '.jsonl' || extension === '.ndjson'
          ? 'read_json_auto'
          : undefined;
  if (reader === undefined) {
    throw invalidParameter(
      `Invalid data file '${source.file}': expected a .parquet, .csv, .tsv, .json or .jsonl file`,
    );
  }
  return `${reader}(${quoteLiteral(source.file)})`;
}

const describeSource = (source: DataSource): string => ('sql' in source ? 'the query' : source.file);

/**
 * Reads the named columns with DuckDB, casting numerics and the label to DOUBLE and categoricals to VARCHAR.
 * Throws INVALID_PARAMETER_VALUE naming the column when one is missing or cannot be cast.
 */
export async function readTabular(options: ReadTabularOptions): Promise<TabularData> {
  const numeric = options.numeric ?? [];
  const categorical = options.categorical ?? [];
  const relation = sourceRelation(options.source);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const available = await columnsOf(connection, relation, options.source);
    const wanted = [...numeric, ...categorical, ...(options.label === undefined ? [] : [options.label])];
    for (const column of wanted) {
      if (!available.includes(column)) {
        throw invalidParameter(
          `Column '${column}' is not in ${describeSource(options.source)}; its columns are: ${available.join(', ')}`,
        );
      }
    }
    const selects = [
      ...numeric.map((c) => `TRY_CAST(${quoteIdent(c)} AS DOUBLE)`),
      ...categorical.map((c) => `CAST(${quoteIdent(c)} AS VARCHAR)`),
      ...(options.label === undefined ? [] : [`TRY_CAST(${quoteIdent(options.label)} AS DOUBLE)`]),
    ];
    if (selects.length === 0) throw invalidParameter('No columns to read: name at least one feature');
    const where = options.where === undefined ? '' : ` WHERE ${options.where}`;
    const limit = options.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(options.limit))}`;
    const sql = `SELECT ${selects.join(', ')} FROM ${relation}${where}${limit}`;
    const result = await connection.stream(sql).catch((error: unknown) => {
      throw invalidParameter(
        `Cannot read ${describeSource(options.source)}${options.where === undefined ? '' : ` with --where '${options.where}'`}: ${(error as Error).message}`,
      );
    });
    const numericParts: number[][] = numeric.map(() => []);
    const categoricalParts: string[][] = categorical.map(() => []);
    const labelPart: number[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const rows = chunk.rowCount;
      let column = 0;
      for (const part of numericParts) {
        const vector = chunk.getColumnVector(column++);
        for (let i = 0; i < rows; i++) part.push((vector.getItem(i) as number | null) ?? Number.NaN);
      }
      for (const part of categoricalParts) {
        const vector = chunk.getColumnVector(column++);
        for (let i = 0; i < rows; i++) part.push((vector.getItem(i) as string | null) ?? '');
      }
      if (options.label !== undefined) {
        const vector = chunk.getColumnVector(column);
        for (let i = 0; i < rows; i++) labelPart.push((vector.getItem(i) as number | null) ?? Number.NaN);
      }
    }
    const rowCount = numericParts[0]?.length ?? categoricalParts[0]?.length ?? labelPart.length;
    const data: TabularData = {
      rowCount,
      numeric: Object.fromEntries(numeric.map((name, i) => [name, Float64Array.from(numericParts[i] ?? [])])),
      categorical: Object.fromEntries(categorical.map((name, i) => [name, categoricalParts[i] ?? []])),
    };
    if (options.label !== undefined) {
      const label = Float64Array.from(labelPart);
      const missing = label.findIndex((v) => Number.isNaN(v));
      if (missing >= 0) {
        throw invalidParameter(
          `Label column '${options.label}' has a missing or non-numeric value at row ${missing}: expected a number (0/1 for a classifier)`,
        );
      }
      data.label = label;
    }
    return data;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The column names of a relation, or a clear error when the file or query cannot be read. */
async function columnsOf(
  connection: Awaited<ReturnType<DuckDBInstance['connect']>>,
  relation: string,
  source: DataSource,
): Promise<string[]> {
  try {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
    return reader.getRowObjectsJS().map((row) => String(row.column_name));
  } catch (error) {
    throw invalidParameter(`Cannot read ${describeSource(source)}: ${(error as Error).message}`);
  }
}

/** Rows `indices` of a dataset, in that order. */
export function takeRows(data: TabularData, indices: ArrayLike<number>): TabularData {
  const count = indices.length;
  const pickNumbers = (column: Float64Array): Float64Array => {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = column[indices[i] as number] as number;
    return out;
  };
  const result: TabularData = {
    rowCount: count,
    numeric: Object.fromEntries(Object.entries(data.numeric).map(([k, v]) => [k, pickNumbers(v)])),
    categorical: Object.fromEntries(
      Object.entries(data.categorical).map(([k, v]) => [
        k,
        Array.from({ length: count }, (_, i) => v[indices[i] as number] as string),
      ]),
    ),
  };
  if (data.label !== undefined) result.label = pickNumbers(data.label);
  return result;
}

/** Splits rows at random (seeded) into a training part and a holdout of about `holdoutFraction` of them. */
export function splitHoldout(
  data: TabularData,
  holdoutFraction: number,
  seed = 42,
): { train: TabularData; holdout: TabularData } {
  const random = seededRandom(seed);
  const train: number[] = [];
  const holdout: number[] = [];
  for (let i = 0; i < data.rowCount; i++) (random() < holdoutFraction ? holdout : train).push(i);
  return { train: takeRows(data, train), holdout: takeRows(data, holdout) };
}
