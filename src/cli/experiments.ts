import type { Command } from 'commander';
import { addClientOptions, clientFrom } from './client-options.js';
import { formatTime, printObject, printRows } from './output.js';

type Options = { trackingUri?: string; json?: boolean };

export function registerExperimentsCommands(program: Command): void {
  const experiments = program.command('experiments').description('experiments (MLflow-compatible)');

  addClientOptions(experiments.command('list').description('list experiments'))
    .option('--filter <filter>', 'MLflow filter, e.g. "name LIKE \'fraud%\'"')
    .option('--all', 'include deleted experiments')
    .action(async (options: Options & { filter?: string; all?: boolean }) => {
      const page = await clientFrom(options).searchExperiments({
        ...(options.filter !== undefined && { filter: options.filter }),
        ...(options.all === true && { viewType: 'ALL' as const }),
      });
      const items = page.experiments ?? [];
      printRows(
        items.map((e) => ({
          id: e.experiment_id,
          name: e.name,
          stage: e.lifecycle_stage,
          created: formatTime(e.creation_time),
        })),
        options,
        items,
      );
    });

  addClientOptions(
    experiments.command('get <idOrName>').description('show one experiment (by id or name)'),
  ).action(async (idOrName: string, options: Options) => {
    const client = clientFrom(options);
    const experiment = /^\d+$/.test(idOrName)
      ? await client.getExperiment(idOrName)
      : await client.getExperimentByName(idOrName);
    printObject(experiment, options);
  });

  addClientOptions(experiments.command('create <name>').description('create an experiment')).action(
    async (name: string, options: Options) => {
      const id = await clientFrom(options).createExperiment(name);
      printObject({ experiment_id: id }, options);
    },
  );

  addClientOptions(experiments.command('rename <id> <newName>').description('rename an experiment')).action(
    async (id: string, newName: string, options: Options) => {
      await clientFrom(options).renameExperiment(id, newName);
      printObject({ experiment_id: id, name: newName }, options);
    },
  );

  addClientOptions(
    experiments.command('delete <id>').description('delete an experiment (restorable)'),
  ).action(async (id: string, options: Options) => {
    await clientFrom(options).deleteExperiment(id);
    printObject({ experiment_id: id, lifecycle_stage: 'deleted' }, options);
  });

  addClientOptions(experiments.command('restore <id>').description('restore a deleted experiment')).action(
    async (id: string, options: Options) => {
      await clientFrom(options).restoreExperiment(id);
      printObject({ experiment_id: id, lifecycle_stage: 'active' }, options);
    },
  );
}
