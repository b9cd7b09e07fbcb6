import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flightsParquetPath } from '../../src/core/sample-data.js';
import {
  compareProfiles,
  type DatasetComparison,
  mergeDatasetProfiles,
  profileColumns,
  profileReference,
  readColumns,
} from '../../src/monitoring/index.js';
import { api, startTestServer, type TestServer } from '../support/slipway.js';

const flights = flightsParquetPath();
const month = (where: string) =>
  `SELECT delay, distance, origin, destination, hour(date) AS hour, dayofweek(date) AS weekday FROM '${flights}' WHERE ${where}`;

/**
 * Real drift on real data: vega-datasets' 3M US flights of Jan–Jun 2001, January as the reference and each later
 * month as the current window, with Evidently's default tests (normed Wasserstein and Jensen–Shannon at 0.1 for
 * references over 1000 rows). The verdicts are facts of the data: the weekday mix shifts in March and June (five
 * weekends), the delay distribution in May.
 */
describe('drift by month on the flights data', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('reports which features drift each month, over the API, with the report as HTML too', async () => {
    const drifted: Record<number, string[]> = {};
    for (const m of [2, 3, 4, 5, 6]) {
      const response = await api(server.url, 'POST', '/api/v1/monitoring/compare', {
        reference: { sql: month('month(date) = 1') },
        current: { sql: month(`month(date) = ${m}`) },
      });
      expect(response.status).toBe(200);
      const comparison = response.json as unknown as DatasetComparison;
      expect(comparison.reference_rows).toBe(508_239);
      drifted[m] = comparison.columns.filter((c) => c.drift?.drifted === true).map((c) => c.column);
      expect(comparison.columns.map((c) => c.drift?.test)).toEqual([
        'wasserstein',
        'wasserstein',
        'jensenshannon',
        'jensenshannon',
        'wasserstein',
        'wasserstein',
      ]);
    }
    expect(drifted).toEqual({ 2: [], 3: ['weekday'], 4: [], 5: ['delay'], 6: ['weekday'] });

    const html = await fetch(`${server.url}/api/v1/monitoring/compare`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        reference: { sql: month('month(date) = 1') },
        current: { sql: month('month(date) = 5') },
        columns: ['delay', 'distance'],
        format: 'html',
      }),
    });
    const page = await html.text();
    expect(page).toContain('<svg');
    expect(page).toMatch(/delay[\s\S]*drift/);
  });

  it('gives the same verdicts from merged weekly profiles as from the whole month', async () => {
    const { schema, profile: reference } = profileReference(
      await readColumns({ sql: month('month(date) = 1') }),
    );
    const whole = profileColumns(await readColumns({ sql: month('month(date) = 5') }), schema);
    const weeks = [];
    for (const [from, to] of [
      ['2001-05-01', '2001-05-08'],
      ['2001-05-08', '2001-05-15'],
      ['2001-05-15', '2001-05-22'],
      ['2001-05-22', '2001-06-01'],
    ]) {
      weeks.push(
        profileColumns(await readColumns({ sql: month(`date >= '${from}' AND date < '${to}'`) }), schema),
      );
    }
    const merged = weeks.reduce(mergeDatasetProfiles);
    expect(merged.rows).toBe(whole.rows);
    const fromWeeks = compareProfiles(reference, merged);
    const fromMonth = compareProfiles(reference, whole);
    expect(fromWeeks.columns.map((c) => c.drift?.drifted)).toEqual(
      fromMonth.columns.map((c) => c.drift?.drifted),
    );
    for (const [i, column] of fromWeeks.columns.entries()) {
      // Counts, sketches and bins merge exactly; means and variances up to floating-point summation order.
      expect(column.drift?.value).toBeCloseTo(fromMonth.columns[i]?.drift?.value as number, 9);
    }
  });

  it('refuses bad sources with a clear 400', async () => {
    const missing = await api(server.url, 'POST', '/api/v1/monitoring/compare', {
      reference: { path: 'no/such/file.parquet' },
      current: { sql: month('month(date) = 2') },
    });
    expect(missing.status).toBe(400);
    expect(missing.json.message).toBe(
      "dataset: file 'no/such/file.parquet' does not exist or cannot be read",
    );
    const badColumn = await api(server.url, 'POST', '/api/v1/monitoring/compare', {
      reference: { sql: month('month(date) = 1') },
      current: { sql: month('month(date) = 2') },
      columns: ['delay', 'nope'],
    });
    expect(badColumn.status).toBe(400);
    expect(badColumn.json.message).toMatch(/nope/);
    const noSource = await api(server.url, 'POST', '/api/v1/monitoring/compare', { reference: {} });
    expect(noSource.status).toBe(400);
  });
});
