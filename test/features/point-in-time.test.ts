import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinitionsFile } from '../../src/features/index.js';
import { api, startTestServer, type TestServer } from '../support/slipway.js';
import { duck, writeFlightsFixture } from './flights-fixture.js';

let server: TestServer;
let dir: string;
let fixture: { yamlPath: string; entitiesPath: string };

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'slipway-pit-'));
  fixture = await writeFlightsFixture(dir);
  const applied = await server.client.applyFeatures(await loadDefinitionsFile(fixture.yamlPath));
  expect(applied.applied).toBe(true);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The reference: one correlated subquery per feature, the latest source row at or before the row, within ttl. */
function referenceQuery(entities: string, source: string, destination: string): string {
  const latest = (src: string, key: string, column: string, ttl: string) =>
    `(SELECT arg_max(f.${column}, f.event_timestamp) FROM read_parquet('${src}') f
      WHERE f.${key} = e.${key} AND f.event_timestamp <= e.event_timestamp
        AND f.event_timestamp >= e.event_timestamp - INTERVAL ${ttl})`;
  return `SELECT row_number() OVER () AS rn, e.origin, e.destination, e.event_timestamp,
      ${latest(source, 'origin', 'avg_delay_1d', '1 DAY')} AS o1d__avg_delay_1d,
      ${latest(source, 'origin', 'flights_1d', '1 DAY')} AS o1d__flights_1d,
      ${latest(source, 'origin', 'avg_delay_7d', '7 DAYS')} AS o7d__avg_delay_7d,
      ${latest(source, 'origin', 'avg_delay_1d', '2 HOURS')} AS o2h__avg_delay_1d,
      ${latest(destination, 'destination', 'avg_delay_1d', '1 DAY')} AS dest__avg_delay_1d
    FROM read_parquet('${entities}') e`;
}

describe('historical retrieval on flights (point in time)', () => {
  it('equals a brute-force correlated-subquery reference row for row, TTL included', async () => {
    const output = join(dir, 'training.parquet');
    const response = await api(server.url, 'POST', '/api/v1/features/historical', {
      features: [
        'o1d:avg_delay_1d',
        'o1d:flights_1d',
        'o7d:avg_delay_7d',
        'o2h:avg_delay_1d',
        'dest:avg_delay_1d',
      ],
      full_feature_names: true,
      entity_path: fixture.entitiesPath,
      output_path: output,
    });
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    const [count] = await duck(`SELECT count(*) AS n FROM read_parquet('${fixture.entitiesPath}')`);
    expect(response.json.row_count).toBe(count?.n);
    expect(response.json.row_count as number).toBeGreaterThan(40_000);
    expect(response.json.digest).toMatch(/^[0-9a-f]{64}$/);

    const columns = [
      'o1d__avg_delay_1d',
      'o1d__flights_1d',
      'o7d__avg_delay_7d',
      'o2h__avg_delay_1d',
      'dest__avg_delay_1d',
    ];
    // Both sides are materialized first: DuckDB 1.5 miscounted FILTERed aggregates over the correlated
    // subqueries when they were inlined into one statement.
    const setup = `
      CREATE TABLE got AS SELECT row_number() OVER () AS rn, * FROM read_parquet('${output}');
      CREATE TABLE ref AS ${referenceQuery(fixture.entitiesPath, join(dir, 'origin_hourly.parquet'), join(dir, 'destination_hourly.parquet'))};
`;
    const [check] = await duck(`${setup}
      SELECT count(*) AS rows,
        count(*) FILTER (WHERE got.origin IS DISTINCT FROM ref.origin OR got.event_timestamp IS DISTINCT FROM ref.event_timestamp) AS misaligned,
        ${columns.map((c) => `count(*) FILTER (WHERE got.${c} IS DISTINCT FROM ref.${c}) AS diff_${c}`).join(',\n')}
      FROM got JOIN ref USING (rn)`);
    expect(check?.rows).toBe(count?.n);
    expect(check?.misaligned).toBe(0);
    for (const c of columns) expect(check?.[`diff_${c}`], c).toBe(0);
    // The comparison is not vacuous: the 2 h TTL nulls values the 1 d view keeps, and some rows have no history.
    const [coverage] = await duck(`${setup}
      SELECT count(*) FILTER (WHERE o2h__avg_delay_1d IS NULL AND o1d__avg_delay_1d IS NOT NULL) AS ttl_nulled,
        count(*) FILTER (WHERE o2h__avg_delay_1d IS NOT NULL) AS o2h_present,
        count(*) FILTER (WHERE o1d__avg_delay_1d IS NULL) AS no_history
      FROM got`);
    expect(coverage?.ttl_nulled as number).toBeGreaterThan(100);
    expect(coverage?.o2h_present as number).toBeGreaterThan(10_000);
    expect(coverage?.no_history as number).toBeGreaterThan(0);
  });

  it('never uses a value from after the entity timestamp', async () => {
    const [leaks] = await duck(`
      WITH got AS (SELECT row_number() OVER () AS rn, * FROM read_parquet('${join(dir, 'training.parquet')}')),
           future AS (
             SELECT g.rn FROM got g JOIN read_parquet('${join(dir, 'origin_hourly.parquet')}') f
               ON f.origin = g.origin AND f.event_timestamp > g.event_timestamp
              AND f.event_timestamp = (SELECT min(event_timestamp) FROM read_parquet('${join(dir, 'origin_hourly.parquet')}') x
                                      WHERE x.origin = g.origin AND x.event_timestamp > g.event_timestamp)
             WHERE g.o1d__flights_1d = f.flights_1d AND g.o1d__avg_delay_1d = f.avg_delay_1d
               AND NOT EXISTS (SELECT 1 FROM read_parquet('${join(dir, 'origin_hourly.parquet')}') p
                               WHERE p.origin = g.origin AND p.event_timestamp <= g.event_timestamp
                                 AND p.flights_1d = f.flights_1d AND p.avg_delay_1d = f.avg_delay_1d))
      SELECT count(*) AS n FROM future`);
    expect(leaks?.n).toBe(0);
  });

  it('applies on-demand transforms to training rows with the request fields of each row', async () => {
    const response = await server.client.historicalFeatures({
      feature_service: 'delay_model',
      entity_rows: [
        { origin: 'SEA', destination: 'SFO', distance: 679, event_timestamp: '2001-02-10T15:30:00Z' },
        { origin: 'SEA', destination: 'SFO', distance: 0, event_timestamp: '2001-01-01T00:30:00Z' },
      ],
    });
    const [row, early] = response.rows ?? [];
    const day = row?.avg_delay_1d as number;
    const week = row?.avg_delay_7d as number;
    expect(typeof day).toBe('number');
    expect(row?.ratio).toBeCloseTo(day / (Math.abs(week) + 1), 12);
    expect(row?.per_1000mi).toBeCloseTo((day * 1000) / 679, 12);
    // No history before the first hour of data: features and transforms are null, not made up.
    expect(early?.avg_delay_1d).toBeNull();
    expect(early?.ratio).toBeNull();
  });
});

describe('point-in-time edge cases', () => {
  let edge: string;
  beforeAll(async () => {
    edge = await mkdtemp(join(tmpdir(), 'slipway-pit-edge-'));
    await writeFile(
      join(edge, 'scores.csv'),
      [
        'user_id,ts,created,score',
        // Two rows at the same event time: the one created last wins.
        '1,2024-01-01 10:00:00,2024-01-01 10:05:00,1.5',
        '1,2024-01-01 10:00:00,2024-01-01 11:00:00,2.5',
        '1,2024-01-01 12:00:00,2024-01-01 12:00:00,3.5',
        '2,2024-01-01 09:00:00,2024-01-01 09:00:00,7.0',
      ].join('\n'),
    );
    const defs = {
      project: 'edge',
      entities: [{ name: 'user', join_keys: ['user_id'], value_type: 'int64' }],
      sources: [
        {
          name: 'scores',
          path: join(edge, 'scores.csv'),
          timestamp_field: 'ts',
          created_timestamp_column: 'created',
        },
      ],
      feature_views: [
        {
          name: 'user_scores',
          entities: ['user'],
          source: 'scores',
          ttl: '1h',
          fields: [{ name: 'score', dtype: 'float64' }],
        },
      ],
    };
    // A second registry (another server) keeps the flights definitions of the first untouched.
    edgeServer = await startTestServer();
    const applied = await edgeServer.client.applyFeatures(defs);
    expect(applied.applied).toBe(true);
  });
  let edgeServer: TestServer;
  afterAll(async () => {
    await edgeServer?.close();
    await rm(edge, { recursive: true, force: true });
  });

  const at = async (rows: { user_id: number; event_timestamp: string }[]) =>
    (
      await edgeServer.client.historicalFeatures({ features: ['user_scores:score'], entity_rows: rows })
    ).rows?.map((r) => r.score);

  it('breaks equal event timestamps by the created timestamp', async () => {
    expect(await at([{ user_id: 1, event_timestamp: '2024-01-01T10:30:00Z' }])).toEqual([2.5]);
  });
  it('sees nothing before the first event and nothing from the future', async () => {
    expect(
      await at([
        { user_id: 1, event_timestamp: '2024-01-01T09:59:59Z' },
        { user_id: 1, event_timestamp: '2024-01-01T11:59:59Z' },
        { user_id: 1, event_timestamp: '2024-01-01T12:00:00Z' },
      ]),
    ).toEqual([null, null, 3.5]);
  });
  it('keeps a value exactly ttl old and drops it a second later', async () => {
    expect(
      await at([
        { user_id: 2, event_timestamp: '2024-01-01T10:00:00Z' },
        { user_id: 2, event_timestamp: '2024-01-01T10:00:01Z' },
        { user_id: 3, event_timestamp: '2024-01-01T10:00:00Z' },
      ]),
    ).toEqual([7, null, null]);
  });
  it('keeps entity rows in their order, duplicates included', async () => {
    expect(
      await at([
        { user_id: 1, event_timestamp: '2024-01-01T12:30:00Z' },
        { user_id: 2, event_timestamp: '2024-01-01T09:30:00Z' },
        { user_id: 1, event_timestamp: '2024-01-01T12:30:00Z' },
      ]),
    ).toEqual([3.5, 7, 3.5]);
  });
  it('answers 400 naming the missing join key or timestamp column', async () => {
    const noKey = await api(edgeServer.url, 'POST', '/api/v1/features/historical', {
      features: ['user_scores:score'],
      entity_rows: [{ user: 1, event_timestamp: '2024-01-01T10:00:00Z' }],
    });
    expect(noKey.status).toBe(400);
    expect(noKey.json.message).toMatch(/no column 'user_id'/);
    const noTs = await api(edgeServer.url, 'POST', '/api/v1/features/historical', {
      features: ['user_scores:score'],
      entity_rows: [{ user_id: 1, when: '2024-01-01T10:00:00Z' }],
    });
    expect(noTs.status).toBe(400);
    expect(noTs.json.message).toMatch(/no timestamp column 'event_timestamp'/);
    const unknown = await api(edgeServer.url, 'POST', '/api/v1/features/historical', {
      features: ['user_scores:rank'],
      entity_rows: [{ user_id: 1, event_timestamp: '2024-01-01T10:00:00Z' }],
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toMatch(/has no field 'rank'/);
  });
});
