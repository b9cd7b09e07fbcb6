import { access } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { invalidParameter } from '../core/errors.js';
import { quoteIdent, quoteString } from '../core/sql-text.js';
import type { Columns } from './dataset-profile.js';

/** Where rows come from: a Parquet/CSV/JSON file, or a DuckDB query (which may read files itself). */
export type DatasetSource = { path: string; where?: string; limit?: number } | { sql: string };

/** Reading options: at most `sampleRows` rows, a reproducible reservoir sample when the source has more. */
export interface ReadOptions {
  sampleRows?: number;
}

/**
 * Reads columns with DuckDB (native, off the event loop): numbers as JS numbers (BIGINT and DECIMAL converted;
 * timestamps as epoch milliseconds), everything else as strings, NULL as null. `columns` selects and orders them.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for a missing file, an unreadable query or an unknown column.
 */
export async function readColumns(
  source: DatasetSource,
  columns?: readonly string[],
  options: ReadOptions = {},
): Promise<Columns> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    let from: string;
    if ('sql' in source) from = `(${source.sql})`;
    else {
      try {
        await access(source.path);
      } catch {
        throw invalidParameter(`dataset: file '${source.path}' does not exist or cannot be read`);
      }
      from = quoteString(source.path);
    }
    const select = columns === undefined ? '*' : columns.map(quoteIdent).join(', ');
    let query = `SELECT ${select} FROM ${from} AS source`;
    if ('path' in source && source.where !== undefined) query += ` WHERE ${source.where}`;
    if ('path' in source && source.limit !== undefined) query += ` LIMIT ${Math.floor(source.limit)}`;
    if (options.sampleRows !== undefined) {
      query = `SELECT * FROM (${query}) USING SAMPLE reservoir(${Math.floor(options.sampleRows)} ROWS) REPEATABLE (42)`;
    }
    let reader: Awaited<ReturnType<typeof connection.runAndReadAll>>;
    try {
      reader = await connection.runAndReadAll(query);
    } catch (error) {
      throw invalidParameter(`dataset: ${(error as Error).message.split('\n')[0]}`);
    }
    const names = reader.columnNames();
    const out: Record<string, unknown[]> = {};
    reader.getColumns().forEach((values, i) => {
      out[names[i] as string] = values.map(toPlain);
    });
    return out;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  const decimal = value as { toDouble?: () => number };
  if (typeof decimal.toDouble === 'function') return decimal.toDouble();
  if (typeof value === 'object' && value !== null && 'micros' in value)
    return Number((value as { micros: bigint }).micros / 1000n);
  if (typeof value === 'object' && value !== null && 'days' in value && Object.keys(value).length === 1)
    return Number((value as { days: number }).days) * 86_400_000;
  return String(value);
}
