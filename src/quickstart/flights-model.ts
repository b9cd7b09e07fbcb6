import { writeFile } from 'node:fs/promises';
import { flightsParquetPath } from '../core/sample-data.js';
import { quoteIdent, quoteString } from '../core/sql-text.js';
import { createClient } from '../sdk/index.js';
import {
  type GbtOptions,
  type LoggedTraining,
  logTraining,
  readTabular,
  type TrainingResult,
  trainTabular,
} from '../training/index.js';

/**
 * The quickstart's flights delay classifier: label = delay > 15 minutes; features = distance, hour of day, day of
 * week, origin and destination (raw columns the served model takes as inputs), plus any feature columns of a
 * training set built by the feature store. The ONNX model holds its preprocessing.
 */
export interface FlightsTrainingOptions {
  /** Default 'gbt'. */
  algorithm?: 'gbt' | 'logreg';
  /** Rows sampled for training (reservoir, seeded); default 200 000. */
  sampleRows?: number;
  /** SQL filter on the raw columns, e.g. `date < '2001-05-01'` to keep later months for evaluation. */
  where?: string;
  /**
   * A training set (Parquet) from the feature store: the flights rows (date, delay, distance, origin,
   * destination) joined with feature columns; `extraNumeric` / `extraCategorical` name the ones to use.
   * Default: the raw flights file.
   */
  trainingSet?: string;
  extraNumeric?: string[];
  extraCategorical?: string[];
  /** Timestamp column of the data; default 'date'. */
  timestampColumn?: string;
  gbt?: GbtOptions;
  seed?: number;
  /** Write the ONNX model here. */
  out?: string;
  /** Log the run (params, metrics, dataset, model) to this server... */
  trackingUri?: string;
  experimentName?: string;
  /** ...and register the model under this name, pointing `alias` at it. */
  registerAs?: string;
  alias?: string;
}

export interface FlightsTrainingOutcome {
  result: TrainingResult;
  logged?: LoggedTraining;
}

const LABEL = 'delayed';
export const FLIGHTS_NUMERIC = ['distance', 'hour', 'day_of_week'];
export const FLIGHTS_CATEGORICAL = ['origin', 'destination'];

/** Trains (and optionally writes, logs and registers) the flights delay model. */
export async function trainFlightsModel(
  options: FlightsTrainingOptions = {},
): Promise<FlightsTrainingOutcome> {
  const file = options.trainingSet ?? flightsParquetPath();
  const time = quoteIdent(options.timestampColumn ?? 'date');
  const extraNumeric = options.extraNumeric ?? [];
  const extraCategorical = options.extraCategorical ?? [];
  const sampleRows = options.sampleRows ?? 200_000;
  const seed = options.seed ?? 42;
  // Derived columns are computed the same way the quickstart's requests compute them: hour 0-23, ISO day 1-7.
  const sql = `SELECT * FROM (
      SELECT CAST(distance AS DOUBLE) AS distance,
             CAST(hour(${time}) AS DOUBLE) AS hour,
             CAST(isodow(${time}) AS DOUBLE) AS day_of_week,
             CAST(origin AS VARCHAR) AS origin,
             CAST(destination AS VARCHAR) AS destination,
             ${[...extraNumeric, ...extraCategorical].map((c) => `${quoteIdent(c)}, `).join('')}
             CASE WHEN delay > 15 THEN 1 ELSE 0 END AS ${LABEL}
      FROM read_parquet(${quoteString(file)})
      WHERE delay IS NOT NULL${options.where === undefined ? '' : ` AND (${options.where})`}
    ) USING SAMPLE reservoir(${Math.floor(sampleRows)} ROWS) REPEATABLE (${seed})`;
  const data = await readTabular({
    source: { sql },
    numeric: [...FLIGHTS_NUMERIC, ...extraNumeric],
    categorical: [...FLIGHTS_CATEGORICAL, ...extraCategorical],
    label: LABEL,
  });
  const result = trainTabular(data, {
    algorithm: options.algorithm ?? 'gbt',
    features: {
      numeric: [...FLIGHTS_NUMERIC, ...extraNumeric],
      categorical: [...FLIGHTS_CATEGORICAL, ...extraCategorical],
    },
    labelName: LABEL,
    seed,
    gbt: { trees: 80, maxDepth: 6, ...options.gbt },
  });
  if (options.out !== undefined) await writeFile(options.out, result.onnx);
  if (options.trackingUri === undefined) return { result };
  const logged = await logTraining(createClient({ baseUrl: options.trackingUri }), result, {
    dataFile: file,
    label: LABEL,
    runName: `flights-${options.algorithm ?? 'gbt'}`,
    experimentName: options.experimentName ?? 'flights',
    ...(options.registerAs !== undefined && { registerAs: options.registerAs }),
    ...(options.alias !== undefined && { alias: options.alias }),
  });
  return { result, logged };
}
