import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { addClientOptions, clientFrom } from './client-options.js';
import { formatTime, printObject, printRows } from './output.js';

type Options = { trackingUri?: string; json?: boolean };

export function registerModelsCommands(program: Command): void {
  const models = program
    .command('models')
    .description('model registry (MLflow-compatible, plus signatures, lineage, cards)');

  addClientOptions(models.command('list').description('list registered models'))
    .option('--filter <filter>', 'e.g. "name LIKE \'fraud%\'"')
    .action(async (options: Options & { filter?: string }) => {
      const page = await clientFrom(options).searchRegisteredModels({
        ...(options.filter !== undefined && { filter: options.filter }),
      });
      const items = page.registered_models ?? [];
      printRows(
        items.map((m) => ({
          name: m.name,
          latest: (m.latest_versions ?? []).map((v) => v.version).join(','),
          aliases: (m.aliases ?? []).map((a) => `${a.alias}=v${a.version}`).join(' '),
          updated: formatTime(m.last_updated_timestamp),
        })),
        options,
        items,
      );
    });

  addClientOptions(models.command('get <name>').description('show a registered model')).action(
    async (name: string, options: Options) =>
      printObject(await clientFrom(options).getRegisteredModel(name), options),
  );

  addClientOptions(models.command('create <name>').description('create a registered model'))
    .option('--description <text>')
    .action(async (name: string, options: Options & { description?: string }) =>
      printObject(await clientFrom(options).createRegisteredModel(name, options.description), options),
    );

  addClientOptions(
    models.command('delete <name>').description('delete a registered model and its versions'),
  ).action(async (name: string, options: Options) => {
    await clientFrom(options).deleteRegisteredModel(name);
    printObject({ name, deleted: true }, options);
  });

  addClientOptions(models.command('versions <name>').description("list a model's versions")).action(
    async (name: string, options: Options) => {
      const page = await clientFrom(options).searchModelVersions({
        filter: `name = '${name.replaceAll("'", "\\'")}'`,
      });
      const items = page.model_versions ?? [];
      printRows(
        items.map((v) => ({
          version: v.version,
          status: v.status,
          aliases: (v.aliases ?? []).join(','),
          run_id: v.run_id ?? '',
          created: formatTime(v.creation_timestamp),
        })),
        options,
        items,
      );
    },
  );

  addClientOptions(
    models
      .command('register <name> <source>')
      .description(
        "register a version from 'runs:/<run_id>/<path>' or 'mlflow-artifacts:/...' (creates the model if needed)",
      ),
  )
    .option('--run-id <id>', 'the run that produced it (taken from a runs:/ source when omitted)')
    .option('--description <text>')
    .action(
      async (name: string, source: string, options: Options & { runId?: string; description?: string }) => {
        const client = clientFrom(options);
        await client.createRegisteredModel(name).catch((error: { errorCode?: string }) => {
          if (error.errorCode !== 'RESOURCE_ALREADY_EXISTS') throw error;
        });
        const runId = options.runId ?? /^runs:\/([^/]+)/.exec(source)?.[1];
        const version = await client.createModelVersion({
          name,
          source,
          ...(runId !== undefined && { runId }),
          ...(options.description !== undefined && { description: options.description }),
        });
        printObject(version, options);
      },
    );

  addClientOptions(
    models
      .command('show <ref>')
      .description("a version's signature, lineage and card: NAME/VERSION, NAME@ALIAS or NAME"),
  ).action(async (ref: string, options: Options) => {
    const detail = await clientFrom(options).resolveModel(ref);
    if (options.json === true) printObject(detail, options);
    else process.stdout.write(`${detail.card.markdown}\n`);
  });

  addClientOptions(
    models.command('alias <name> <alias> <version>').description('point an alias at a version'),
  ).action(async (name: string, alias: string, version: string, options: Options) => {
    await clientFrom(options).setAlias(name, alias, version);
    printObject({ name, alias, version }, options);
  });

  addClientOptions(models.command('unalias <name> <alias>').description('delete an alias')).action(
    async (name: string, alias: string, options: Options) => {
      await clientFrom(options).deleteAlias(name, alias);
      printObject({ name, alias, deleted: true }, options);
    },
  );

  addClientOptions(models.command('card <name> <version>').description("replace a version's model card"))
    .requiredOption('--file <path>', 'markdown file')
    .action(async (name: string, version: string, options: Options & { file: string }) => {
      const markdown = await readFile(options.file, 'utf8');
      const detail = await clientFrom(options).setModelCard(name, version, markdown);
      printObject({ name, version, card_bytes: detail.card.markdown.length }, options);
    });
}
