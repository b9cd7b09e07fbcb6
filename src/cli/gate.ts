import { writeFile } from 'node:fs/promises';
import { type Command, CommanderError } from 'commander';
import { renderGateReport, runGate } from '../pipelines/index.js';
import { SlipwayApiError } from '../sdk/index.js';
import { addClientOptions } from './client-options.js';
import { numberOption } from './train.js';

interface GateCliOptions {
  trackingUri?: string;
  json?: boolean;
  candidate: string;
  baseline?: string;
  data: string;
  metric: string[];
  label?: string;
  slice?: string;
  minSliceSize?: number;
  where?: string;
  maxRows?: number;
  batchSize?: number;
  latencyRequests?: number;
  report?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const positiveInt = (option: string) =>
  numberOption(option, (n) => Number.isInteger(n) && n > 0, 'a positive integer');

/** Exit codes CI relies on: 0 the gate passed, 1 it failed, 2 it could not judge (usage or error). */
export const GATE_EXIT = { passed: 0, failed: 1, error: 2 } as const;

/** `slipway gate`: compares a candidate with a baseline on holdout data; exit code 0 pass, 1 fail, 2 error. */
export function registerGateCommand(program: Command): void {
  addClientOptions(
    program
      .command('gate')
      .description(
        'evaluate a candidate model against a baseline on holdout data with ONNX Runtime; exit 0 pass, 1 fail, 2 error',
      ),
  )
    .requiredOption('--candidate <ref>', 'MODEL@VERSION, MODEL@ALIAS or MODEL/VERSION')
    .option('--baseline <ref>', 'e.g. MODEL@champion')
    .requiredOption(
      '--data <file>',
      'holdout data (.parquet, .csv, .json) with the label and every model input',
    )
    .option(
      '--metric <rule>',
      'NAME:key=value,... (repeatable), keys threshold, min_delta, min_relative_change, greater_is_better, min, max; e.g. auc:min_delta=0 latency_p99_ms:max=20',
      collect,
      [],
    )
    .option('--label <column>', "label column (default: the candidate's slipway.label tag, else 'label')")
    .option('--slice <column>', 'apply the rules per value of this column too')
    .option(
      '--min-slice-size <n>',
      'judge only slices with at least this many rows (default 30)',
      positiveInt('--min-slice-size'),
    )
    .option('--where <sql>', 'filter the rows first')
    .option('--max-rows <n>', 'evaluate at most this many rows', positiveInt('--max-rows'))
    .option('--batch-size <n>', 'rows per timed request (default 1)', positiveInt('--batch-size'))
    .option(
      '--latency-requests <n>',
      'timed requests per model (default 200)',
      positiveInt('--latency-requests'),
    )
    .option('--report <file>', 'also write the Markdown report here (e.g. "$GITHUB_STEP_SUMMARY")')
    // A usage mistake must not look like a failed gate: commander's errors exit 2 (help and version stay 0).
    .exitOverride((error) => {
      throw new CommanderError(error.exitCode === 0 ? 0 : GATE_EXIT.error, error.code, error.message);
    })
    .action(async (options: GateCliOptions) => {
      try {
        const trackingUri =
          options.trackingUri ??
          process.env.SLIPWAY_TRACKING_URI ??
          process.env.MLFLOW_TRACKING_URI ??
          'http://127.0.0.1:5000';
        const token = process.env.SLIPWAY_TOKEN;
        const result = await runGate({
          trackingUri,
          ...(token !== undefined && { token }),
          candidate: options.candidate,
          ...(options.baseline !== undefined && { baseline: options.baseline }),
          data: options.data,
          metrics: options.metric,
          ...(options.label !== undefined && { label: options.label }),
          ...(options.slice !== undefined && { slice: options.slice }),
          ...(options.minSliceSize !== undefined && { minSliceSize: options.minSliceSize }),
          ...(options.where !== undefined && { where: options.where }),
          ...(options.maxRows !== undefined && { maxRows: options.maxRows }),
          ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
          ...(options.latencyRequests !== undefined && { latencyRequests: options.latencyRequests }),
        });
        const report = renderGateReport(result);
        if (options.report !== undefined) await writeFile(options.report, report);
        process.stdout.write(options.json === true ? `${JSON.stringify(result, null, 2)}\n` : report);
        process.exitCode = result.passed ? GATE_EXIT.passed : GATE_EXIT.failed;
      } catch (error) {
        const message =
          error instanceof SlipwayApiError
            ? `${error.errorCode} (${error.status}): ${error.message}`
            : error instanceof TypeError && error.message === 'fetch failed'
              ? 'cannot reach the Slipway server; start it with `slipway server` or set --tracking-uri'
              : error instanceof Error
                ? error.message
                : String(error);
        process.stderr.write(`error: ${message}\n`);
        process.exitCode = GATE_EXIT.error;
      }
    });
}
