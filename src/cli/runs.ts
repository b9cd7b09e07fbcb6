import type { Command } from 'commander';
import { addClientOptions, clientFrom } from './client-options.js';
import { formatTime, printObject, printRows } from './output.js';

type Options = { trackingUri?: string; json?: boolean };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerRunsCommands(program: Command): void {
  const runs = program.command('runs').description('runs (MLflow-compatible)');

  addClientOptions(runs.command('list').alias('search').description('search runs with MLflow filter syntax'))
    .requiredOption('-e, --experiment <id>', 'experiment id (repeatable)', collect)
    .option('--filter <filter>', 'e.g. "metrics.auc > 0.8 and params.model = \'gbt\'"')
    .option('--order-by <clause>', "e.g. 'metrics.auc DESC' (repeatable)", collect)
    .option('--max-results <n>', 'page size', '100')
    .action(
      async (
        options: Options & { experiment: string[]; filter?: string; orderBy?: string[]; maxResults: string },
      ) => {
        const page = await clientFrom(options).searchRuns({
          experimentIds: options.experiment,
          maxResults: Number(options.maxResults),
          ...(options.filter !== undefined && { filter: options.filter }),
          ...(options.orderBy !== undefined && { orderBy: options.orderBy }),
        });
        const items = page.runs ?? [];
        printRows(
          items.map((r) => ({
            run_id: r.info.run_id,
            name: r.info.run_name,
            status: r.info.status,
            started: formatTime(r.info.start_time),
            metrics: (r.data.metrics ?? []).map((m) => `${m.key}=${m.value}`).join(' '),
          })),
          options,
          page,
        );
      },
    );

  addClientOptions(
    runs.command('get <runId>').description('show a run with its metrics, params and tags'),
  ).action(async (runId: string, options: Options) => {
    const run = await clientFrom(options).getRun(runId);
    if (options.json === true) printObject(run, options);
    else {
      printObject(run.info, options);
      for (const m of run.data.metrics ?? [])
        process.stdout.write(`metric ${m.key} = ${m.value} (step ${m.step})\n`);
      for (const p of run.data.params ?? []) process.stdout.write(`param ${p.key} = ${p.value}\n`);
      for (const t of run.data.tags ?? []) process.stdout.write(`tag ${t.key} = ${t.value}\n`);
    }
  });

  addClientOptions(
    runs.command('metric-history <runId> <key>').description('every logged value of a metric'),
  ).action(async (runId: string, key: string, options: Options) => {
    const metrics = await clientFrom(options).getMetricHistory(runId, key);
    printRows(
      metrics.map((m) => ({ step: m.step, value: m.value, timestamp: formatTime(m.timestamp) })),
      options,
      metrics,
    );
  });

  addClientOptions(runs.command('delete <runId>').description('delete a run (restorable)')).action(
    async (runId: string, options: Options) => {
      await clientFrom(options).deleteRun(runId);
      printObject({ run_id: runId, lifecycle_stage: 'deleted' }, options);
    },
  );

  addClientOptions(runs.command('restore <runId>').description('restore a deleted run')).action(
    async (runId: string, options: Options) => {
      await clientFrom(options).restoreRun(runId);
      printObject({ run_id: runId, lifecycle_stage: 'active' }, options);
    },
  );
}
