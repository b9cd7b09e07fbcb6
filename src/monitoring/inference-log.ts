import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteString } from '../core/sql-text.js';

/** One model folder's files of one hour, as the JSONL sink names them: `YYYY-MM-DD-HH-<part>.jsonl`. */
const FILE = /^(\d{4}-\d{2}-\d{2}-\d{2})-(\d+)\.(jsonl|parquet)$/;

const hourStart = (stem: string): number => {
  const [y, m, d, h] = stem.split('-').map(Number) as [number, number, number, number];
  return Date.UTC(y, m - 1, d, h);
};

export interface CompactionResult {
  /** JSONL files folded into Parquet. */
  compacted: number;
  /** Parquet files written. */
  written: number;
  /** Files removed by retention. */
  expired: number;
}

/**
 * Keeps the inference log small and queryable: every closed hour's JSONL parts of a model become one Parquet file
 * (zstd, columnar: DuckDB reads `payloads/<model>/*.parquet` directly), and files older than `retentionMs` are
 * deleted. The current hour stays JSONL, where the sink appends. Safe to run while serving: only closed hours are
 * touched, and the JSONL parts are removed only after their Parquet file is complete.
 */
export async function compactInferenceLog(
  dir: string,
  options: { nowMs: number; retentionMs: number },
): Promise<CompactionResult> {
  const result: CompactionResult = { compacted: 0, written: 0, expired: 0 };
  let models: string[];
  try {
    models = await readdir(dir);
  } catch {
    return result;
  }
  const currentHour = Math.floor(options.nowMs / 3_600_000) * 3_600_000;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const model of models) {
      const folder = join(dir, model);
      if (!(await stat(folder)).isDirectory()) continue;
      const byHour = new Map<string, { jsonl: string[]; parquet: number }>();
      for (const name of await readdir(folder)) {
        const match = FILE.exec(name);
        if (match === null) continue;
        const [, stem, part, extension] = match as unknown as [string, string, string, string];
        const hour = hourStart(stem);
        if (hour + 3_600_000 <= options.nowMs - options.retentionMs) {
          await rm(join(folder, name), { force: true });
          result.expired++;
          continue;
        }
        const entry = byHour.get(stem) ?? { jsonl: [], parquet: -1 };
        if (extension === 'jsonl') entry.jsonl.push(join(folder, name));
        else entry.parquet = Math.max(entry.parquet, Number(part));
        byHour.set(stem, entry);
      }
      for (const [stem, entry] of byHour) {
        if (hourStart(stem) >= currentHour || entry.jsonl.length === 0) continue;
        const target = join(folder, `${stem}-${entry.parquet + 1}.parquet`);
        const temporary = `${target}.tmp`;
        await connection.run(
          `COPY (SELECT * FROM read_json_auto([${entry.jsonl.map(quoteString).join(', ')}], format = 'newline_delimited', union_by_name = true)) TO ${quoteString(temporary)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        await rename(temporary, target);
        for (const file of entry.jsonl) await rm(file, { force: true });
        result.compacted += entry.jsonl.length;
        result.written++;
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return result;
}
