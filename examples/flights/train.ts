/**
 * Trains the flights delay classifier of the quickstart from the command line (the function lives in
 * src/quickstart/flights-model.ts, where the `slipway quickstart` command uses it too).
 *
 *   npx tsx examples/flights/train.ts [--model gbt|logreg] [--rows 200000] [--where "date < '2001-05-01'"]
 *        [--training-set set.parquet --extra-features f1,f2] [--out flights.onnx]
 *        [--register flights --alias champion] [--tracking-uri http://127.0.0.1:5000]
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { trainFlightsModel } from '../../src/quickstart/flights-model.js';

export { trainFlightsModel };

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
