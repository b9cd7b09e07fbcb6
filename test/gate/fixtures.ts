import { writeFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { seededRandom } from '../support/random.js';

export const CITIES = ['SEA', 'SFO', 'JFK', 'ORD', 'ATL'];
const CITY_EFFECT: Record<string, number> = { SEA: -1.2, SFO: 0.4, JFK: 1.1, ORD: 0, ATL: -0.3 };

/**
 * Rows of a known relation, P(delayed) = sigmoid(z) with z = 1.5·distance_k - 0.4·hour/3 + effect(city) + 0.5,
 * and delay_min = 10·z + noise for regressors, written as Parquet through DuckDB (from a CSV it writes first).
 */
export async function writeFixtureParquet(path: string, rows: number, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const lines = ['distance_k,hour,city,delayed,delay_min'];
  for (let i = 0; i < rows; i++) {
    const distance = gaussian();
    const hour = Math.floor(random() * 24);
    const city = CITIES[Math.floor(random() * CITIES.length)] as string;
    const z = 1.5 * distance - (0.4 * hour) / 3 + (CITY_EFFECT[city] as number) + 0.5;
    const delayed = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    const delayMinutes = 10 * z + 3 * gaussian();
    lines.push(`${distance.toFixed(5)},${hour},${city},${delayed},${delayMinutes.toFixed(3)}`);
  }
  const csv = `${path}.csv`;
  await writeFile(csv, `${lines.join('\n')}\n`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(
      `COPY (SELECT * FROM read_csv_auto('${csv.replaceAll("'", "''")}')) TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
