import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { flightsParquetPath } from '../../src/core/sample-data.js';

/** The flights-3m Parquet file from vega-datasets. */
export const flightsParquet = flightsParquetPath();

/** Runs SQL in a fresh in-memory DuckDB and answers rows as JS objects (64-bit integers as numbers). */
export async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const statements = sql.split(';\n').filter((s) => s.trim() !== '');
    let rows: Record<string, unknown>[] = [];
    for (const statement of statements) rows = (await connection.runAndReadAll(statement)).getRowObjectsJS();
    return rows.map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** West-coast origins, Jan-Feb 2001: about 45K flights, enough to cross many TTL and day boundaries. */
export const SLICE_ORIGINS = ['SEA', 'PDX', 'SJC', 'OAK'];
const SLICE_END = '2001-03-01';

/**
 * Writes the test's files into `dir`: the flights slice (entity rows), hourly per-origin and per-destination
 * rolling delay statistics (the feature sources, event time = end of the hour), and a features.yaml.
 */
export async function writeFlightsFixture(dir: string): Promise<{ yamlPath: string; entitiesPath: string }> {
  const slice = join(dir, 'flights.parquet');
  const origin = join(dir, 'origin_hourly.parquet');
  const destination = join(dir, 'destination_hourly.parquet');
  const hourly = (key: string) => `
    WITH hourly AS (
      SELECT ${key}, date_trunc('hour', event_timestamp) + INTERVAL 1 HOUR AS event_timestamp, sum(delay) AS s, count(*) AS n
      FROM read_parquet('${slice}') GROUP BY ALL
    )
    SELECT ${key}, event_timestamp,
      sum(s) OVER d1 / sum(n) OVER d1 AS avg_delay_1d, sum(n) OVER d1 AS flights_1d,
      sum(s) OVER d7 / sum(n) OVER d7 AS avg_delay_7d
    FROM hourly
    WINDOW d1 AS (PARTITION BY ${key} ORDER BY event_timestamp RANGE BETWEEN INTERVAL 23 HOURS PRECEDING AND CURRENT ROW),
           d7 AS (PARTITION BY ${key} ORDER BY event_timestamp RANGE BETWEEN INTERVAL 167 HOURS PRECEDING AND CURRENT ROW)`;
  await duck(`
    COPY (SELECT origin, destination, distance, delay, date AS event_timestamp FROM read_parquet('${flightsParquet}')
          WHERE origin IN (${SLICE_ORIGINS.map((o) => `'${o}'`).join(', ')}) AND date < '${SLICE_END}')
      TO '${slice}' (FORMAT parquet);
    COPY (${hourly('origin')}) TO '${origin}' (FORMAT parquet);
    COPY (${hourly('destination')}) TO '${destination}' (FORMAT parquet)`);
  const yaml = `
project: flights_test
entities:
  - { name: origin }
  - { name: destination }
sources:
  - { name: origin_hourly, path: origin_hourly.parquet, timestamp_field: event_timestamp }
  - { name: destination_hourly, path: destination_hourly.parquet, timestamp_field: event_timestamp }
feature_views:
  - name: o1d
    entities: [origin]
    source: origin_hourly
    ttl: 1d
    fields: [{ name: avg_delay_1d, dtype: float64 }, { name: flights_1d, dtype: int64 }]
  - name: o7d
    entities: [origin]
    source: origin_hourly
    ttl: 7d
    fields: [{ name: avg_delay_7d, dtype: float64 }]
  - name: o2h
    entities: [origin]
    source: origin_hourly
    ttl: 2h
    fields: [{ name: avg_delay_1d, dtype: float64 }]
  - name: dest
    entities: [destination]
    source: destination_hourly
    ttl: 1d
    fields: [{ name: avg_delay_1d, dtype: float64 }]
on_demand_feature_views:
  - name: signals
    sources: [o1d, o7d]
    request_fields: [{ name: distance, dtype: int64 }]
    module: ./transforms.mjs
    function: signals
    fields: [{ name: ratio, dtype: float64 }, { name: per_1000mi, dtype: float64 }]
feature_services:
  - name: delay_model
    features: [o1d, o7d, signals]
`;
  await writeFile(
    join(dir, 'transforms.mjs'),
    `export function signals(row) {
  const known = row.avg_delay_1d !== null && row.avg_delay_7d !== null;
  return {
    ratio: known ? row.avg_delay_1d / (Math.abs(row.avg_delay_7d) + 1) : null,
    per_1000mi: row.avg_delay_1d === null || !row.distance ? null : (row.avg_delay_1d * 1000) / row.distance,
  };
}
`,
  );
  const yamlPath = join(dir, 'features.yaml');
  await writeFile(yamlPath, yaml);
  return { yamlPath, entitiesPath: slice };
}
