import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { PipelineRunView } from '../pipelines/index.js';
import type { SlipwayClient } from '../sdk/index.js';
import { addClientOptions, clientFrom } from './client-options.js';
import { formatTime, printObject, printRows } from './output.js';

type Options = { trackingUri?: string; json?: boolean };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `k=v` pairs from repeated --param flags. */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`invalid --param '${pair}': expected NAME=VALUE`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

const isSpecFile = (arg: string) => /\.ya?ml$/i.test(arg) && existsSync(arg);

async function applySpec(client: SlipwayClient, file: string) {
  const path = resolve(file);
  return client.applyPipeline(await readFile(path, 'utf8'), dirname(path), basename(path));
}

const stepLine = (s: PipelineRunView['steps'][number]) => {
  const detail =
    s.status === 'cached'
      ? `reused outputs of run ${s.cached_from ?? '?'}`
      : s.status === 'failed'
        ? (s.error ?? '')
        : s.attempts > 1
          ? `${s.attempts} attempts`
          : '';
  return `  ${s.name}: ${s.status}${detail === '' ? '' : ` (${detail})`}`;
};

function printRun(run: PipelineRunView, options: Options): void {
  if (options.json === true) {
    printObject(run, options);
    return;
  }
  process.stdout.write(
    `pipeline run ${run.id}: ${run.pipeline} v${run.version}, ${run.status} (${run.reason})\n` +
      `tracking run: ${run.run_id} (experiment ${run.experiment_id})\n`,
  );
  if (run.error !== undefined) process.stdout.write(`error: ${run.error}\n`);
  printRows(
    run.steps.map((s) => ({
      step: s.name,
      kind: s.kind,
      status: s.status,
      attempts: s.attempts,
      duration_s: s.duration_ms === undefined ? '' : (s.duration_ms / 1000).toFixed(1),
      run_id: s.run_id ?? '',
      error: s.error ?? '',
    })),
    {},
  );
}

/** Follows a run until it finishes, printing each step's changes; exit code 1 when it fails. */
async function follow(client: SlipwayClient, run: PipelineRunView, options: Options): Promise<void> {
  const seen = new Map<string, string>();
  let current = run;
  if (options.json !== true)
    process.stdout.write(`pipeline run ${run.id} (${run.pipeline}): ${run.status}\n`);
  for (;;) {
    if (options.json !== true) {
      for (const step of current.steps) {
        const line = stepLine(step);
        if (step.status !== 'pending' && seen.get(step.name) !== line) {
          seen.set(step.name, line);
          process.stdout.write(`${line}\n`);
        }
      }
    }
    if (current.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 500));
    current = await client.getPipelineRun(run.id);
  }
  if (options.json === true) printObject(current, options);
  else {
    process.stdout.write(`pipeline run ${current.id}: ${current.status}\n`);
    const failed = current.steps.filter((s) => s.status === 'failed');
    for (const s of failed) process.stdout.write(`logs: slipway pipelines logs ${current.id} ${s.name}\n`);
  }
  if (current.status !== 'succeeded') process.exitCode = 1;
}

/** `slipway pipelines apply|list|run|runs|status|logs|resume`. */
export function registerPipelineCommands(program: Command): void {
  const pipelines = program.command('pipelines').description('ML pipelines: DAGs of steps run by the server');

  addClientOptions(
    pipelines
      .command('apply <spec>')
      .description("store a spec (YAML) on the server; its folder is the steps' working dir"),
  ).action(async (spec: string, options: Options) => {
    const result = await applySpec(clientFrom(options), spec);
    if (options.json === true) return printObject(result, options);
    const p = result.pipeline;
    process.stdout.write(
      `pipeline ${p.name} version ${p.version}${result.changed ? '' : ' (unchanged)'}: ${p.steps.length} steps` +
        `${p.schedule === undefined ? '' : `, schedule '${p.schedule}'`}` +
        `${p.on_data === undefined ? '' : `, watching ${p.on_data.path}`}\n`,
    );
  });

  addClientOptions(pipelines.command('list').description('list pipelines')).action(
    async (options: Options) => {
      const list = await clientFrom(options).listPipelines();
      printRows(
        list.map((p) => ({
          name: p.name,
          version: p.version,
          steps: p.steps.length,
          schedule: p.schedule ?? '',
          executor: p.executor,
          updated: formatTime(p.updated_at),
        })),
        options,
        list,
      );
    },
  );

  addClientOptions(
    pipelines
      .command('run <pipeline>')
      .description('start a run of a pipeline by name, or of a spec file (applied first)'),
  )
    .option('-p, --param <name=value>', 'override a parameter (repeatable)', collect)
    .option('--wait', 'follow the run; exit non-zero when it fails')
    .action(async (pipeline: string, options: Options & { param?: string[]; wait?: boolean }) => {
      const client = clientFrom(options);
      const name = isSpecFile(pipeline) ? (await applySpec(client, pipeline)).pipeline.name : pipeline;
      const params = parseParams(options.param ?? []);
      const run = await client.startPipelineRun(name, Object.keys(params).length > 0 ? params : undefined);
      if (options.wait === true) return follow(client, run, options);
      if (options.json === true) return printObject(run, options);
      process.stdout.write(
        `started pipeline run ${run.id} (${name}); follow: slipway pipelines status ${run.id}\n`,
      );
    });

  addClientOptions(pipelines.command('runs <pipeline>').description("a pipeline's runs, newest first"))
    .option('--limit <n>', 'how many', '20')
    .action(async (pipeline: string, options: Options & { limit: string }) => {
      const runs = await clientFrom(options).listPipelineRuns(pipeline, Number(options.limit));
      printRows(
        runs.map((r) => ({
          id: r.id,
          status: r.status,
          reason: r.reason,
          version: r.version,
          started: formatTime(r.created_at),
          finished: formatTime(r.finished_at),
          steps: r.steps.map((s) => `${s.name}:${s.status}`).join(' '),
        })),
        options,
        runs,
      );
    });

  addClientOptions(pipelines.command('status <run-id>').description('a run and its steps')).action(
    async (runId: string, options: Options) =>
      printRun(await clientFrom(options).getPipelineRun(runId), options),
  );

  addClientOptions(
    pipelines.command('logs <run-id> <step>').description("a step's stdout and stderr"),
  ).action(async (runId: string, step: string, options: Options) => {
    const log = await clientFrom(options).pipelineStepLogs(runId, step);
    if (options.json === true) return printObject({ run_id: runId, step, log }, options);
    process.stdout.write(log);
  });

  addClientOptions(
    pipelines.command('resume <run-id>').description('re-run the failed steps of a failed run'),
  )
    .option('--wait', 'follow the run; exit non-zero when it fails')
    .action(async (runId: string, options: Options & { wait?: boolean }) => {
      const client = clientFrom(options);
      const run = await client.resumePipelineRun(runId);
      if (options.wait === true) return follow(client, run, options);
      printRun(run, options);
    });
}
