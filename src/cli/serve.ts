import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { resolveServerConfig } from '../core/config.js';
import { createSlipway } from '../server.js';
import { printObject } from './output.js';
import { listenUntilSignalled } from './server.js';

/** `slipway serve` (a standalone serving process) and `slipway predict` (one call to it). */
export function registerServeCommands(program: Command): void {
  program
    .command('serve [model]')
    .description(
      'serve a registry version (NAME@ALIAS, NAME/VERSION or NAME) and/or endpoints over the Open Inference Protocol and /invocations',
    )
    .option(
      '--endpoint <name>',
      'also serve this endpoint, routed by its traffic policy (repeatable)',
      collectValues,
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8080')
    .option('--data-dir <dir>', 'the registry data dir (default ~/.slipway)')
    .option('--db <url>', "the registry database ('postgres://...' or 'sqlite:PATH')")
    .option('--artifacts-dir <dir>', 'artifact root (default <data-dir>/artifacts)')
    .option(
      '--online-store <url>',
      "online features for enriched endpoints: 'redis://host:6379' (default: SQLite in the data dir)",
    )
    .option('--max-batch-size <rows>', 'most rows per batch', '64')
    .option('--max-queue-delay-ms <ms>', 'how long a request may wait for a batch to fill', '0')
    .option('--max-queue-size <rows>', 'requests queued before new ones get 429', '256')
    .option('--workers <n>', 'inference worker threads (default: one per core)')
    .option('--no-payload-log', 'do not log inference payloads for monitoring')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .action(
      async (model: string | undefined, options: Record<string, string | boolean | string[] | undefined>) => {
        const endpoints = options.endpoint as string[] | undefined;
        if (model === undefined && endpoints === undefined)
          throw new Error('give a model to serve, or --endpoint NAME');
        const config = resolveServerConfig({
          host: options.host as string,
          port: options.port as string,
          logLevel: options.logLevel as 'info',
          ...(typeof options.dataDir === 'string' && { dataDir: options.dataDir }),
          ...(typeof options.db === 'string' && { db: options.db }),
          ...(typeof options.artifactsDir === 'string' && { artifactsDir: options.artifactsDir }),
          ...(typeof options.onlineStore === 'string' && { onlineStore: options.onlineStore }),
        });
        const positive = (name: string, value: unknown, min = 1): number => {
          const n = Number(value);
          if (!Number.isInteger(n) || n < min)
            throw new Error(`--${name} must be an integer >= ${min}, got '${String(value)}'`);
          return n;
        };
        const slipway = await createSlipway(config, {
          mode: 'serve',
          ...(model !== undefined && { defaultModel: model }),
          ...(endpoints !== undefined && { endpoints }),
          payloadLog: options.payloadLog !== false,
          ...(options.workers !== undefined && { inferenceWorkers: positive('workers', options.workers) }),
          batchPolicy: {
            maxBatchSize: positive('max-batch-size', options.maxBatchSize),
            maxQueueDelayMs: positive('max-queue-delay-ms', options.maxQueueDelayMs, 0),
            maxQueueSize: positive('max-queue-size', options.maxQueueSize),
          },
        });
        const what = [model, ...(endpoints ?? []).map((e) => `endpoint ${e}`)]
          .filter((w) => w !== undefined)
          .join(', ');
        await listenUntilSignalled(slipway, config.host, config.port, `Slipway serving ${what}`);
      },
    );

  program
    .command('predict <model>')
    .description('send one inference request (V2 JSON, or MLflow /invocations JSON) and print the answer')
    .option('--url <url>', 'serving process URL', 'http://127.0.0.1:8080')
    .option('--data <json>', 'the request body')
    .option('--file <path>', 'a file holding the request body')
    .option('--version <version>', 'a specific loaded version')
    .option('--json', 'print JSON (default)')
    .action(
      async (model: string, options: { url: string; data?: string; file?: string; version?: string }) => {
        const text =
          options.data ?? (options.file !== undefined ? await readFile(options.file, 'utf8') : undefined);
        if (text === undefined) throw new Error('give the request body with --data or --file');
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch (error) {
          throw new Error(`the request body is not valid JSON: ${(error as Error).message}`);
        }
        const base = options.url.replace(/\/+$/, '');
        const mlflow =
          ['dataframe_split', 'dataframe_records', 'instances'].some((k) => k in body) ||
          !Array.isArray(body.inputs);
        const path = mlflow
          ? '/invocations'
          : `/v2/models/${encodeURIComponent(model)}${options.version === undefined ? '' : `/versions/${encodeURIComponent(options.version)}`}/infer`;
        const response = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const answer = (await response.json()) as object;
        if (!response.ok) {
          const message =
            (answer as { error?: string; message?: string }).error ??
            (answer as { message?: string }).message;
          throw new Error(`${response.status}: ${message ?? JSON.stringify(answer)}`);
        }
        printObject(answer, { json: true });
      },
    );
}

const collectValues = (value: string, previous: string[] = []): string[] => [...previous, value];
