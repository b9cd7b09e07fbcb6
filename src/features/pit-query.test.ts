import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { quoteIdent, quoteString } from '../core/sql-text.js';
import { parseDefinitions, type SourceDef } from './definitions.js';
import { planFeatures } from './feature-plan.js';
import { ENTITY_TS, latestPerKeyQuery, pointInTimeQuery, ROW_ID } from './pit-query.js';

const defs = parseDefinitions({
  entities: [{ name: 'user', join_keys: ['user_id'], value_type: 'int64' }],
  sources: [
    { name: 'scores', path: '/unused.parquet', timestamp_field: 'ts', created_timestamp_column: 'created' },
  ],
  feature_views: [
    {
      name: 'scores',
      entities: ['user'],
      source: 'scores',
      ttl: '1h',
      fields: [{ name: 'score', dtype: 'float64' }],
    },
  ],
});

describe('SQL quoting', () => {
  it('doubles embedded quotes', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteString("it's")).toBe("'it''s'");
  });
});

describe('pointInTimeQuery (run on DuckDB over inline tables)', () => {
  // The source as a query over VALUES, so the planned SQL runs without files.
  const source: SourceDef = {
    ...(defs.sources[0] as SourceDef),
    path: undefined,
    query: `SELECT * FROM (VALUES
      (1, TIMESTAMP '2024-01-01 10:00', TIMESTAMP '2024-01-01 10:05', 1.5),
      (1, TIMESTAMP '2024-01-01 10:00', TIMESTAMP '2024-01-01 11:00', 2.5),
      (1, TIMESTAMP '2024-01-01 12:00', TIMESTAMP '2024-01-01 12:00', 3.5),
      (2, TIMESTAMP '2024-01-01 09:00', TIMESTAMP '2024-01-01 09:00', 7.0)) t(user_id, ts, created, score)`,
  } as SourceDef;
  const sources = new Map([['scores', source]]);

  async function run(sql: string): Promise<unknown[][]> {
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    try {
      // As the offline store does: DuckDB 1.5's top-n window rewrite fails an assertion on latest-per-key.
      await c.run("SET disabled_optimizers = 'top_n_window_elimination'");
      await c.run(`CREATE TEMP TABLE entities AS SELECT * FROM (VALUES
        (1, TIMESTAMP '2024-01-01 10:30', 1), (1, TIMESTAMP '2024-01-01 09:59', 2),
        (1, TIMESTAMP '2024-01-01 12:00', 3), (2, TIMESTAMP '2024-01-01 10:00', 4),
        (2, TIMESTAMP '2024-01-01 10:00:01', 5), (3, TIMESTAMP '2024-01-01 10:00', 6))
        t(user_id, ${ENTITY_TS}, ${ROW_ID})`);
      return (await c.runAndReadAll(sql)).getRowsJS();
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  }

  it('takes the latest value at or before each row, ties by created time, within ttl, in row order', async () => {
    const plan = planFeatures(defs, { features: ['scores:score'] });
    const rows = await run(pointInTimeQuery(plan, sources, 'entities', ['user_id']));
    const scores = rows.map((r) => r[2]);
    expect(scores).toEqual([2.5, null, 3.5, 7, null, null]);
    expect(rows.map((r) => Number(r[0]))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('plans an ASOF join, a ttl guard and the created-time tie-break', () => {
    const plan = planFeatures(defs, { features: ['scores:score'] });
    const sql = pointInTimeQuery(plan, sources, 'entities', ['user_id']);
    expect(sql).toContain('ASOF LEFT JOIN');
    expect(sql).toContain('to_milliseconds(3600000)');
    expect(sql).toContain('ORDER BY __created DESC NULLS LAST');
  });

  it('materializes the latest value per key within the interval', async () => {
    const view = defs.feature_views[0];
    if (view === undefined) throw new Error('no view');
    const sql = latestPerKeyQuery(
      view,
      source,
      [{ name: 'user_id', valueType: 'int64' }],
      Date.parse('2024-01-01T00:00:00Z'),
      Date.parse('2024-01-01T12:00:00Z'),
    );
    const rows = (await run(`${sql} ORDER BY 1`)).map((r) => [Number(r[0]), Number(r[1]), r[2]]);
    // End is exclusive: user 1's 12:00 value belongs to the next interval.
    expect(rows).toEqual([
      [1, Date.parse('2024-01-01T10:00:00Z'), 2.5],
      [2, Date.parse('2024-01-01T09:00:00Z'), 7],
    ]);
  });
});
