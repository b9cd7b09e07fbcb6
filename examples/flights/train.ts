/**
 * Trains the flights delay classifier of the quickstart: label = delay > 15 minutes; features = distance, hour of
 * day, day of week, origin and destination (raw columns the served model takes as inputs), plus any feature
 * columns of a training set built by the feature store. The ONNX model holds its preprocessing.
 *
 *   npx tsx examples/flights/train.ts [--model gbt|logreg] [--rows 200000] [--where "date < '2001-05-01'"]
 *        [--training-set set.parquet --extra-features f1,f2] [--out flights.onnx]
 *        [--register flights --alias champion] [--tracking-uri http://127.0.0.1:5000]
 *
 * Or from code: `await trainFlightsModel({ registerAs: 'flights', trackingUri })`.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { createClient } from '../../src/sdk/index.js';
import {
  type GbtOptions,
  type LoggedTraining,
  logTraining,
  readTabular,
  type TrainingResult,
  trainTabular,
} from '../../src/training/index.js';

/** The flights file of vega-datasets: 3M US flights, Jan–Jun 2001. */
export const flightsParquet = (): string =>
  // The package exports only its entry (build/index.js), so find the data next to it.
  join(dirname(dirname(createRequire(import.meta.url).resolve('vega-datasets'))), 'data/flights-3m.parquet');

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

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const identifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Trains (and optionally writes, logs and registers) the flights delay model. */
export async function trainFlightsModel(
  options: FlightsTrainingOptions = {},
): Promise<FlightsTrainingOutcome> {
  const file = options.trainingSet ?? flightsParquet();
  const time = identifier(options.timestampColumn ?? 'date');
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
             ${[...extraNumeric, ...extraCategorical].map((c) => `${identifier(c)}, `).join('')}
             CASE WHEN delay > 15 THEN 1 ELSE 0 END AS ${LABEL}
      FROM read_parquet(${quote(file)})
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

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const list = (text: string | undefined) =>
    text === undefined ? [] : text.split(',').filter((s) => s !== '');
  const program = new Command('train-flights')
    .option('--model <algorithm>', 'gbt | logreg', 'gbt')
    .option('--rows <n>', 'training rows sampled', '200000')
    .option('--where <sql>', 'filter on the raw columns')
    .option('--training-set <file>', 'a feature-store training set (Parquet) instead of the raw flights')
    .option('--extra-features <columns>', 'numeric feature columns of the training set')
    .option('--extra-categorical <columns>', 'categorical feature columns of the training set')
    .option('--out <file>', 'write the ONNX model here')
    .option('--register <name>', 'register under this name (needs a tracking server)')
    .option('--alias <alias>', 'point this alias at the new version')
    .option('--tracking-uri <url>', 'Slipway server (env SLIPWAY_TRACKING_URI or MLFLOW_TRACKING_URI)')
    .parse();
  const o = program.opts<Record<string, string | undefined>>();
  const trackingUri =
    o.trackingUri ??
    process.env.SLIPWAY_TRACKING_URI ??
    process.env.MLFLOW_TRACKING_URI ??
    (o.register === undefined ? undefined : 'http://127.0.0.1:5000');
  const startedMs = performance.now();
  const { result, logged } = await trainFlightsModel({
    algorithm: o.model === 'logreg' ? 'logreg' : 'gbt',
    sampleRows: Number(o.rows),
    extraNumeric: list(o.extraFeatures),
    extraCategorical: list(o.extraCategorical),
    ...(o.where !== undefined && { where: o.where }),
    ...(o.trainingSet !== undefined && { trainingSet: o.trainingSet }),
    ...(o.out !== undefined && { out: o.out }),
    ...(trackingUri !== undefined && { trackingUri }),
    ...(o.register !== undefined && { registerAs: o.register }),
    ...(o.alias !== undefined && { alias: o.alias }),
  });
  console.log(
    JSON.stringify(
      {
        trained_in_s: Number(((performance.now() - startedMs) / 1000).toFixed(1)),
        train_rows: result.trainRows,
        holdout_rows: result.holdoutRows,
        metrics: result.metrics,
        ...(logged !== undefined && { run_id: logged.runId, version: logged.version }),
      },
      null,
      2,
    ),
  );
}
