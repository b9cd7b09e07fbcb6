import { writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import {
  ALGORITHMS,
  type Algorithm,
  logTraining,
  readTabular,
  type TrainOptions,
  trainTabular,
} from '../training/index.js';
import { addClientOptions, clientFrom } from './client-options.js';
import { printObject } from './output.js';

interface TrainCliOptions {
  trackingUri?: string;
  json?: boolean;
  data: string;
  label: string;
  features?: string;
  categorical?: string;
  model: string;
  task?: string;
  where?: string;
  holdout: number;
  seed: number;
  trees?: number;
  maxDepth?: number;
  learningRate?: number;
  l2?: number;
  out?: string;
  register?: string;
  alias?: string;
  experiment?: string;
}

const list = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** A commander argument parser for numbers, so a bad value is a usage error naming the option. */
export const numberOption =
  (option: string, check: (n: number) => boolean = Number.isFinite, expected = 'a number') =>
  (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !check(value)) {
      throw new InvalidArgumentError(`${option} '${text}' is not valid: expected ${expected}`);
    }
    return value;
  };

const positiveInt = (option: string) =>
  numberOption(option, (n) => Number.isInteger(n) && n > 0, 'a positive integer');

/** `slipway train`: trains a tabular model from a Parquet/CSV file, writes ONNX, optionally logs and registers it. */
export function registerTrainCommand(program: Command): void {
  addClientOptions(
    program
      .command('train')
      .description(
        'train logistic regression or gradient-boosted trees on a Parquet/CSV file; write ONNX with the preprocessing inside',
      ),
  )
    .requiredOption('--data <file>', 'training data (.parquet, .csv, .json)')
    .requiredOption('--label <column>', 'label column (0/1 or true/false for a classifier)')
    .option('--features <columns>', 'numeric feature columns, comma-separated')
    .option('--categorical <columns>', 'categorical feature columns, comma-separated')
    .option('--model <algorithm>', `${ALGORITHMS.join(' | ')}`, 'gbt')
    .option('--task <task>', 'gbt only: classification | regression (default: from the label)')
    .option('--where <sql>', 'filter rows, e.g. "origin = \'SEA\'"')
    .option(
      '--holdout <fraction>',
      'share of rows held out for metrics',
      numberOption('--holdout', (n) => n > 0 && n < 1, 'a number in (0, 1)'),
      0.2,
    )
    .option(
      '--seed <n>',
      'seed of the holdout split',
      numberOption('--seed', Number.isInteger, 'an integer'),
      42,
    )
    .option('--trees <n>', 'gbt: boosting rounds (default 100)', positiveInt('--trees'))
    .option('--max-depth <n>', 'gbt: tree depth (default 5)', positiveInt('--max-depth'))
    .option(
      '--learning-rate <x>',
      'gbt: shrinkage (default 0.1)',
      numberOption('--learning-rate', (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    )
    .option(
      '--l2 <x>',
      'L2 penalty',
      numberOption('--l2', (n) => n >= 0, 'a number >= 0'),
    )
    .option('--out <file>', 'write the ONNX model here')
    .option('--register <name>', 'log the run and register the model under this name')
    .option('--alias <alias>', 'with --register: point this alias at the new version')
    .option('--experiment <name>', 'experiment of the run (env MLFLOW_EXPERIMENT_NAME; default Default)')
    .action(async (options: TrainCliOptions) => {
      if (!(ALGORITHMS as readonly string[]).includes(options.model)) {
        throw new InvalidArgumentError(
          `--model '${options.model}' is not valid: expected ${ALGORITHMS.join(', ')}`,
        );
      }
      if (options.task !== undefined && options.task !== 'classification' && options.task !== 'regression') {
        throw new InvalidArgumentError(
          `--task '${options.task}' is not valid: expected classification or regression`,
        );
      }
      const features = { numeric: list(options.features), categorical: list(options.categorical) };
      const data = await readTabular({
        source: { file: options.data },
        numeric: features.numeric,
        categorical: features.categorical,
        label: options.label,
        ...(options.where !== undefined && { where: options.where }),
      });
      const algorithm = options.model as Algorithm;
      const trainOptions: TrainOptions = {
        algorithm,
        features,
        labelName: options.label,
        holdoutFraction: options.holdout,
        seed: options.seed,
        ...(options.task !== undefined && { task: options.task as 'classification' | 'regression' }),
        gbt: {
          ...(options.trees !== undefined && { trees: options.trees }),
          ...(options.maxDepth !== undefined && { maxDepth: options.maxDepth }),
          ...(options.learningRate !== undefined && { learningRate: options.learningRate }),
          ...(options.l2 !== undefined && { l2: options.l2 }),
        },
        linear: { ...(options.l2 !== undefined && { l2: options.l2 }) },
      };
      const result = trainTabular(data, trainOptions);
      if (options.out !== undefined) await writeFile(options.out, result.onnx);

      // Tracked when a server is named (flag or env), when running inside a pipeline step, or to register.
      const env = (name: string): string | undefined => (process.env[name] ?? '') || undefined;
      const runId = env('MLFLOW_RUN_ID');
      const tracked =
        options.trackingUri !== undefined ||
        env('SLIPWAY_TRACKING_URI') !== undefined ||
        env('MLFLOW_TRACKING_URI') !== undefined ||
        runId !== undefined ||
        options.register !== undefined;
      const experimentName = options.experiment ?? env('MLFLOW_EXPERIMENT_NAME');
      const logged = tracked
        ? await logTraining(clientFrom(options), result, {
            dataFile: options.data,
            label: options.label,
            runName: `train-${algorithm}`,
            ...(runId !== undefined && { runId }),
            ...(experimentName !== undefined && { experimentName }),
            ...(options.register !== undefined && { registerAs: options.register }),
            ...(options.alias !== undefined && { alias: options.alias }),
          })
        : undefined;
      printObject(
        {
          algorithm,
          task: result.task,
          train_rows: result.trainRows,
          holdout_rows: result.holdoutRows,
          ...Object.fromEntries(Object.entries(result.metrics).map(([k, v]) => [k, Number(v.toFixed(6))])),
          ...(options.out !== undefined && { out: options.out }),
          ...(logged !== undefined && { run_id: logged.runId, model_uri: logged.modelUri }),
          ...(logged?.version !== undefined && { registered: `${options.register}/${logged.version}` }),
        },
        options,
      );
    });
}
