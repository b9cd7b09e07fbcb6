// Splits the vega-datasets flights (Jan–Jun 2001) by time: a training sample before the cutoff and a holdout
// after it, with the label `delayed` (delay > 15 minutes) and the raw features the served model takes.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const require = createRequire(import.meta.url);
// The package exports only its entry (build/index.js); the data sits next to it.
const flights = join(dirname(dirname(require.resolve('vega-datasets'))), 'data/flights-3m.parquet');
const out = process.env.SLIPWAY_OUTPUT_DIR;
const cutoff = process.env.SLIPWAY_PARAM_CUTOFF ?? '2001-05-01';
const rows = Number(process.env.SLIPWAY_PARAM_ROWS ?? 50000);
if (!/^\d{4}-\d{2}-\d{2}$/.test(cutoff) || !Number.isInteger(rows) || rows <= 0) {
  console.error(`bad params: cutoff=${cutoff} rows=${rows}`);
  process.exit(2);
}

const columns = `(delay > 15)::INTEGER AS delayed, distance::DOUBLE AS distance,
  hour(date)::DOUBLE AS hour, isodow(date)::DOUBLE AS day_of_week, origin, destination`;
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
for (const [file, where] of [
  ['train.parquet', `date < DATE '${cutoff}'`],
  ['holdout.parquet', `date >= DATE '${cutoff}'`],
]) {
  // USING SAMPLE applies before WHERE in the same SELECT, so the filter sits in a subquery.
  await db.run(`COPY (
    SELECT * FROM (SELECT ${columns} FROM read_parquet('${flights}') WHERE delay IS NOT NULL AND ${where})
    USING SAMPLE reservoir(${rows} ROWS) REPEATABLE (42)
  ) TO '${join(out, file)}' (FORMAT parquet)`);
  console.log(`wrote ${file}`);
}
