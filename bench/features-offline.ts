/**
 * Offline feature store on flights-3m (vega-datasets):
 *  1. Point-in-time retrieval for 1M entity rows (flights) x 3 feature views (the example's per-origin and
 *     per-destination rolling delay statistics), written to Parquet; baseline: the brute-force correlated
 *     subquery (the test's reference) on the same inputs in the same DuckDB, as a ratio.
 *  2. Materializing 3M rows (one entity per flight) into the embedded online store: peak RSS of the streaming
 *     path, against a baseline that loads the same rows into memory at once (each in its own process).
 *
 *   npx tsx bench/features-offline.ts [--rows 1000000] [--baseline-rows 100000]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  buildTrainingSet,
  createFeatureService,
  createOfflineStore,
  createSqliteOnlineStore,
  loadDefinitionsFile,
  parseDefinitions,
} from '../src/features/index.js';
import { openMetadataDb } from '../src/storage/index.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const flights = join(
  dirname(dirname(createRequire(import.meta.url).resolve('vega-datasets'))),
  'data/flights-3m.parquet',
);
const examples = join(import.meta.dirname, '../examples/flights/features.yaml');

async function sql(statements: string[]): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  let rows: Record<string, unknown>[] = [];
  for (const s of statements) rows = (await c.runAndReadAll(s)).getRowObjectsJS();
  c.closeSync();
  instance.closeSync();
  return rows;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Child: one measurement, printed as JSON on stdout. */
async function child(kind: string, dir: string): Promise<void> {
  if (kind === 'materialize') {
    const metadata = await openMetadataDb(`sqlite:${join(dir, 'meta.db')}`);
    const service = createFeatureService({
      metadata,
      clock: { nowMs: () => Date.now() },
      online: createSqliteOnlineStore(join(dir, `online-${Date.now()}.db`)),
      offline: createOfflineStore({ memoryLimit: '512MB' }),
    });
    await service.apply({
      definitions: parseDefinitions({
        entities: [{ name: 'flight', join_keys: ['flight_id'], value_type: 'int64' }],
        sources: [
          {
            name: 'flights',
            tables: { f: flights },
            query: 'SELECT row_number() OVER () AS flight_id, date AS ts, delay, distance, origin FROM f',
            timestamp_field: 'ts',
          },
        ],
        feature_views: [
          {
            name: 'flight_facts',
            entities: ['flight'],
            source: 'flights',
            fields: [
              { name: 'delay', dtype: 'int64' },
              { name: 'distance', dtype: 'int64' },
              { name: 'origin', dtype: 'string' },
            ],
          },
        ],
      }),
    });
    const started = performance.now();
    const result = await service.materialize({ startMs: 0, endMs: Date.parse('2002-01-01') });
    const seconds = (performance.now() - started) / 1000;
    await service.close();
    await metadata.close();
    process.stdout.write(JSON.stringify({ rows: result.results[0]?.rows, seconds, peakRssMb: peakRssMb() }));
    return;
  }
  if (kind === 'naive') {
    // What "load everything, then write" costs: every row as a JS object at once.
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    const started = performance.now();
    const rows = (
      await c.runAndReadAll(
        `SELECT row_number() OVER () AS flight_id, date AS ts, delay, distance, origin FROM read_parquet('${flights}')`,
      )
    ).getRowObjectsJS();
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(JSON.stringify({ rows: rows.length, seconds, peakRssMb: peakRssMb() }));
    return;
  }
  throw new Error(`unknown child ${kind}`);
}

async function main(): Promise<void> {
  const rows = arg('--rows', 1_000_000);
  const baselineRows = arg('--baseline-rows', 100_000);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-offline-'));
  try {
    const example = await loadDefinitionsFile(examples);
    // The example's sources are DuckDB queries over the 3M flights; both sides of the comparison read them
    // precomputed, so the comparison is of the joins alone.
    const sourceFiles: Record<string, string> = {};
    const precompute: string[] = [];
    for (const source of example.sources) {
      const file = join(dir, `${source.name}.parquet`);
      sourceFiles[source.name] = file;
      const tables = Object.entries(source.tables ?? {})
        .map(([n, p]) => `"${n}" AS (SELECT * FROM read_parquet('${p}'))`)
        .join(', ');
      precompute.push(`COPY (WITH ${tables} SELECT * FROM (${source.query})) TO '${file}' (FORMAT parquet)`);
    }
    const entities = join(dir, 'entities.parquet');
    precompute.push(
      `COPY (SELECT origin, destination, distance, date AS event_timestamp FROM read_parquet('${flights}') USING SAMPLE ${rows} ROWS (reservoir, 42))
         TO '${entities}' (FORMAT parquet)`,
    );
    const baselineEntities = join(dir, 'baseline-entities.parquet');
    precompute.push(
      `COPY (SELECT * FROM read_parquet('${entities}') LIMIT ${baselineRows}) TO '${baselineEntities}' (FORMAT parquet)`,
    );
    await sql(precompute);
    const defs = parseDefinitions({
      ...example,
      sources: example.sources.map((s) => ({
        name: s.name,
        path: sourceFiles[s.name],
        timestamp_field: s.timestamp_field,
      })),
      // The example keeps values forever (its data is from 2001); the bench measures the TTL'd join, as the
      // baseline's time windows do.
      feature_views: example.feature_views.map(({ ttl_ms: _, ...v }) => ({
        ...v,
        ttl: v.name === 'origin_delay_7d' ? '7d' : '1d',
      })),
      on_demand_feature_views: [],
      feature_services: [],
    });
    const features = ['origin_delay_1d', 'origin_delay_7d', 'dest_delay_1d'];
    const offline = createOfflineStore();
    const run = async (entityPath: string, output: string, sourceDefs = defs) => {
      const started = performance.now();
      const { result } = await buildTrainingSet(offline, sourceDefs, {
        features,
        entities: { path: entityPath },
        outputPath: join(dir, output),
      });
      return { seconds: (performance.now() - started) / 1000, rows: result.rowCount };
    };
    await run(baselineEntities, 'warm.parquet');
    const full = await run(entities, 'training.parquet');
    const small = await run(baselineEntities, 'training-small.parquet');
    const withQueries = await run(entities, 'training-queries.parquet', example);
    process.stdout.write(
      `PIT ${full.rows} rows x 3 views (6 features): ${full.seconds.toFixed(2)} s (precomputed sources); ` +
        `${withQueries.seconds.toFixed(2)} s including the example's SQL sources over 3M flights\n`,
    );

    const latest = (src: string, key: string, column: string, ttl: string) =>
      `(SELECT arg_max(f.${column}, f.event_timestamp) FROM read_parquet('${src}') f WHERE f.${key} = e.${key}
         AND f.event_timestamp <= e.event_timestamp AND f.event_timestamp >= e.event_timestamp - INTERVAL ${ttl})`;
    const o = sourceFiles.origin_hourly as string;
    const d = sourceFiles.destination_hourly as string;
    const started = performance.now();
    await sql([
      `COPY (SELECT e.*, ${latest(o, 'origin', 'origin_avg_delay_1d', '1 DAY')}, ${latest(o, 'origin', 'origin_flights_1d', '1 DAY')},
          ${latest(o, 'origin', 'origin_avg_delay_7d', '7 DAYS')}, ${latest(o, 'origin', 'origin_flights_7d', '7 DAYS')},
          ${latest(d, 'destination', 'dest_avg_delay_1d', '1 DAY')}, ${latest(d, 'destination', 'dest_flights_1d', '1 DAY')}
        FROM read_parquet('${baselineEntities}') e) TO '${join(dir, 'baseline.parquet')}' (FORMAT parquet)`,
    ]);
    const baselineSeconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `baseline (correlated subqueries) ${small.rows} rows: ${baselineSeconds.toFixed(2)} s; Slipway ${small.rows} rows: ${small.seconds.toFixed(2)} s; ` +
        `ratio baseline/slipway = ${(baselineSeconds / small.seconds).toFixed(1)}x\n`,
    );
    await offline.close();

    const measure = (kind: string) =>
      JSON.parse(
        execFileSync(process.execPath, [...process.execArgv, import.meta.filename, '--child', kind, dir], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        }),
      ) as { rows: number; seconds: number; peakRssMb: number };
    const streamed = measure('materialize');
    const naive = measure('naive');
    process.stdout.write(
      `materialize ${streamed.rows} rows into SQLite: ${streamed.seconds.toFixed(1)} s, peak RSS ${streamed.peakRssMb} MB; ` +
        `baseline loading the same rows at once (no writing): peak RSS ${naive.peakRssMb} MB; ratio ${(naive.peakRssMb / streamed.peakRssMb).toFixed(1)}x\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const childIndex = process.argv.indexOf('--child');
if (childIndex !== -1)
  await child(process.argv[childIndex + 1] as string, process.argv[childIndex + 2] as string);
else await main();
