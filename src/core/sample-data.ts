import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * A file of the `vega-datasets` package (a dependency): real data for the quickstart, tests and benchmarks, e.g.
 * `data/flights-3m.parquet` (3M US flights, Jan–Jun 2001) or `data/seattle-weather.csv`.
 */
export function vegaDatasetPath(file: string): string {
  // The package exports only its JS entry (build/index.js); the data folder sits beside build/.
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return join(dirname(dirname(entry)), file);
}

/** 3 million US flights, January to June 2001: date, delay (minutes), distance (miles), origin, destination. */
export const flightsParquetPath = (): string => vegaDatasetPath('data/flights-3m.parquet');
