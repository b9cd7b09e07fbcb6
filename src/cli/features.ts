import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import {
  buildTrainingSet,
  createOfflineStore,
  type DefinitionChange,
  type Definitions,
  loadDefinitionsFile,
  type MaterializeResult,
  trainingSetDataset,
} from '../features/index.js';
import { addClientOptions, clientFrom } from './client-options.js';
import { formatTime, printObject, printRows } from './output.js';

type Options = { trackingUri?: string; json?: boolean };

const list = (text: string | undefined): string[] | undefined =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function printChanges(changes: DefinitionChange[]): void {
  if (changes.length === 0) {
    process.stdout.write('no changes\n');
    return;
  }
  const sign = { added: '+', changed: '~', removed: '-' } as const;
  for (const c of changes) {
    const details = c.details.length > 0 ? ` (${c.details.join(', ')})` : '';
    process.stdout.write(
      `${sign[c.change]} ${c.kind} ${c.name}${details}${c.destructive ? '  [destructive]' : ''}\n`,
    );
  }
}

function printMaterialized(results: MaterializeResult[], options: Options): void {
  printRows(
    results.map((r) => ({
      view: r.view,
      start: formatTime(r.start_ms),
      end: formatTime(r.end_ms),
      rows: r.rows,
      written: r.written,
    })),
    options,
    results,
  );
}

/** `key=v1,v2` entity columns; values of int64 keys and numeric request fields become numbers. */
function parseEntities(pairs: string[], defs: Definitions): Record<string, unknown[]> {
  const numeric = new Set<string>();
  for (const e of defs.entities)
    if (e.value_type === 'int64') for (const k of e.join_keys ?? [e.name]) numeric.add(k);
  for (const o of defs.on_demand_feature_views)
    for (const f of o.request_fields) if (f.dtype !== 'string' && f.dtype !== 'bool') numeric.add(f.name);
  const entities: Record<string, unknown[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--entity '${pair}': expected KEY=VALUE[,VALUE...]`);
    const key = pair.slice(0, at);
    entities[key] = pair
      .slice(at + 1)
      .split(',')
      .map((v) => (numeric.has(key) ? Number(v) : v));
  }
  return entities;
}

/** `slipway features apply|list|materialize|materialize-incremental|get|historical|bind|unbind|bindings`. */
export function registerFeaturesCommands(program: Command): void {
  const features = program
    .command('features')
    .description('feature store: definitions, training sets, online');

  addClientOptions(
    features
      .command('apply <file>')
      .description('apply a features.yaml (shows the diff; destructive changes need --force)'),
  )
    .option('--force', 'apply destructive changes (removals, changed keys or types)')
    .option('--dry-run', 'show the diff only')
    .action(async (file: string, options: Options & { force?: boolean; dryRun?: boolean }) => {
      const definitions = await loadDefinitionsFile(file);
      const result = await clientFrom(options).applyFeatures(definitions, {
        ...(options.force === true && { force: true }),
        ...(options.dryRun === true && { dryRun: true }),
      });
      if (options.json === true) return printObject(result, options);
      printChanges(result.changes);
      process.stdout.write(
        result.applied ? `applied version ${result.version}\n` : `not applied (version ${result.version})\n`,
      );
    });

  addClientOptions(features.command('list').description('entities, views, on-demand views, services')).action(
    async (options: Options) => {
      const result = await clientFrom(options).listFeatures();
      printRows(result.objects, options, result);
    },
  );

  addClientOptions(
    features
      .command('materialize <start> <end>')
      .description('load values with event time in [START, END) into the online store (ISO 8601 times)'),
  )
    .option('--views <names>', 'only these feature views (comma-separated)')
    .action(async (start: string, end: string, options: Options & { views?: string }) => {
      const views = list(options.views);
      const result = await clientFrom(options).materializeFeatures({
        start,
        end,
        ...(views !== undefined && { views }),
      });
      printMaterialized(result.results, options);
    });

  addClientOptions(
    features
      .command('materialize-incremental [end]')
      .description('continue each view from its last materialized end to END (default now)'),
  )
    .option('--views <names>', 'only these feature views (comma-separated)')
    .action(async (end: string | undefined, options: Options & { views?: string }) => {
      const views = list(options.views);
      const result = await clientFrom(options).materializeFeaturesIncremental({
        ...(end !== undefined && { end }),
        ...(views !== undefined && { views }),
      });
      printMaterialized(result.results, options);
    });

  addClientOptions(features.command('get').description('online feature values for entities'))
    .option('--features <refs>', "'view:field' references (comma-separated)")
    .option('--service <name>', 'a feature service')
    .option('--entity <key=values>', 'entity key (or request field) values, e.g. origin=ORD,SEA', collect)
    .option('--full-names', 'name features view__field')
    .action(
      async (
        options: Options & { features?: string; service?: string; entity?: string[]; fullNames?: boolean },
      ) => {
        const client = clientFrom(options);
        const { definitions } = await client.featureRegistry();
        const refs = list(options.features);
        const response = await client.getOnlineFeatures({
          ...(refs !== undefined && { features: refs }),
          ...(options.service !== undefined && { featureService: options.service }),
          entities: parseEntities(options.entity ?? [], definitions),
          ...(options.fullNames === true && { fullFeatureNames: true }),
        });
        if (options.json === true) return printObject(response, options);
        const names = response.metadata.feature_names;
        const rows = response.results[0]?.values.length ?? 0;
        printRows(
          Array.from({ length: rows }, (_, r) =>
            Object.fromEntries(
              names.map((name, i) => {
                const column = response.results[i];
                const status = column?.statuses[r];
                const value = column?.values[r];
                return [name, status === 'PRESENT' ? value : `(${status})`];
              }),
            ),
          ),
          options,
        );
      },
    );

  addClientOptions(
    features
      .command('historical')
      .description('build a point-in-time correct training set as Parquet, in this process (with progress)'),
  )
    .option('--features <refs>', "'view:field' references (comma-separated)")
    .option('--service <name>', 'a feature service')
    .option('--entities <file>', 'entity rows: a Parquet or CSV file with join keys and a timestamp column')
    .option('--entity-sql <sql>', 'entity rows: a DuckDB query')
    .option('--timestamp-column <name>', "the entity rows' timestamp column", 'event_timestamp')
    .option('--output <file>', 'where to write the training set (Parquet)', 'training_set.parquet')
    .option('--full-names', 'name features view__field')
    .option('--run-id <id>', 'log the training set as an input of this run (lineage)')
    .option('--dataset-name <name>', 'dataset name in the run (default: the service name)')
    .action(
      async (
        options: Options & {
          features?: string;
          service?: string;
          entities?: string;
          entitySql?: string;
          timestampColumn: string;
          output: string;
          fullNames?: boolean;
          runId?: string;
          datasetName?: string;
        },
      ) => {
        if ((options.entities === undefined) === (options.entitySql === undefined))
          throw new Error('give exactly one of --entities FILE or --entity-sql SQL');
        const client = clientFrom(options);
        const { version, definitions } = await client.featureRegistry();
        const offline = createOfflineStore();
        const bar = new SingleBar({
          format: 'training set [{bar}] {percentage}% | {duration_formatted}',
          stream: process.stderr,
          hideCursor: true,
        });
        const showBar = options.json !== true && process.stderr.isTTY === true;
        if (showBar) bar.start(100, 0);
        try {
          const refs = list(options.features);
          const outputPath = resolve(options.output);
          const { plan, result } = await buildTrainingSet(offline, definitions, {
            features: refs,
            featureService: options.service,
            entities:
              options.entities !== undefined
                ? { path: resolve(options.entities) }
                : { sql: options.entitySql as string },
            timestampColumn: options.timestampColumn,
            fullFeatureNames: options.fullNames === true,
            outputPath,
            onProgress: (percent) => {
              if (showBar) bar.update(Math.round(percent));
            },
          });
          if (showBar) {
            bar.update(100);
            bar.stop();
          }
          if (options.runId !== undefined && result.digest !== undefined) {
            await client.logInputs(options.runId, [
              trainingSetDataset(
                options.datasetName ?? options.service ?? 'training_set',
                { ...result, digest: result.digest, outputPath },
                plan,
                version,
              ),
            ]);
          }
          printObject(
            {
              output: result.outputPath,
              rows: result.rowCount,
              columns: result.columns.map((c) => c.name).join(','),
              sha256: result.digest,
              ...(options.runId !== undefined && { logged_to_run: options.runId }),
            },
            options,
          );
        } finally {
          if (showBar) bar.stop();
          await offline.close();
        }
      },
    );

  addClientOptions(
    features
      .command('bind <endpoint>')
      .description("enrich an endpoint's requests with a feature service's features"),
  )
    .requiredOption('--service <name>', 'the feature service')
    .option('--entity-input <key=input>', 'a join key carried by a differently named input', collect)
    .action(async (endpoint: string, options: Options & { service: string; entityInput?: string[] }) => {
      const inputs = Object.fromEntries(
        (options.entityInput ?? []).map((pair) => {
          const [key, input] = pair.split('=');
          if (key === undefined || input === undefined || key === '' || input === '')
            throw new Error(`--entity-input '${pair}': expected KEY=INPUT`);
          return [key, input];
        }),
      );
      const binding = await clientFrom(options).bindEndpointFeatures(
        endpoint,
        options.service,
        Object.keys(inputs).length > 0 ? inputs : undefined,
      );
      printObject(binding, options);
    });
  addClientOptions(features.command('unbind <endpoint>').description('remove an endpoint binding')).action(
    async (endpoint: string, options: Options) => {
      await clientFrom(options).unbindEndpointFeatures(endpoint);
      process.stdout.write(`unbound ${endpoint}\n`);
    },
  );
  addClientOptions(features.command('bindings').description('endpoints enriched with features')).action(
    async (options: Options) => {
      const bindings = await clientFrom(options).listFeatureBindings();
      printRows(
        bindings.map((b) => ({
          endpoint: b.endpoint,
          service: b.feature_service,
          inputs: b.entity_inputs,
          updated: formatTime(b.updated_at),
        })),
        options,
        bindings,
      );
    },
  );
}
