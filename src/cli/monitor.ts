import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DatasetComparison, MonitorResult } from '../monitoring/index.js';
import { readColumns } from '../monitoring/index.js';
import { addClientOptions, clientFrom } from './client-options.js';
import { parseDurationMs } from './endpoints.js';
import { formatTime, printObject, printRows } from './output.js';

type Options = { trackingUri?: string; json?: boolean };

/** JSON turns NaN (e.g. AUC with one class) into null. */
const fixed = (value: number | null | undefined, digits = 3) =>
  value === undefined || value === null || Number.isNaN(value) ? '' : Number(value.toFixed(digits));

/** The drift table of a comparison, one line per column. */
function printComparison(comparison: DatasetComparison): void {
  process.stdout.write(
    `${comparison.dataset_drift ? 'DATASET DRIFT' : 'no dataset drift'}: ${comparison.drifted_features} drifted features (share ${fixed(comparison.drift_share)}); reference ${comparison.reference_rows} rows, current ${comparison.current_rows} rows\n`,
  );
  printRows(
    comparison.columns.map((c) => ({
      column: c.column,
      role: c.role,
      test: c.drift?.test ?? '',
      score: fixed(c.drift?.value, 4),
      threshold: c.drift?.threshold ?? '',
      drift: c.drift === undefined ? 'no data' : c.drift.drifted ? 'DRIFT' : 'ok',
      missing: fixed(c.quality.missing_rate),
      out_of_range: fixed(c.quality.out_of_range_rate),
      unseen: c.quality.unseen_categories.slice(0, 3).join(','),
    })),
    {},
  );
  if (comparison.missing_columns.length > 0)
    process.stdout.write(`missing columns: ${comparison.missing_columns.join(', ')}\n`);
}

function printResult(result: MonitorResult): void {
  process.stdout.write(
    `endpoint ${result.endpoint} (model ${result.model}, reference v${result.reference_version}), window ${formatTime(result.window.start)} – ${formatTime(result.window.end)}\n`,
  );
  if (result.drift === undefined)
    process.stdout.write('no traffic (or no reference profile) in the window\n');
  else printComparison(result.drift);
  if (result.performance !== undefined) {
    const p = result.performance;
    process.stdout.write(`performance (${p.task}, ${p.labelled_rows} labelled rows):\n`);
    printRows(
      Object.entries({
        all: p.overall,
        ...Object.fromEntries(Object.entries(p.by_version).map(([v, m]) => [`v${v}`, m])),
      }).map(([version, m]) => ({
        version,
        ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, fixed(v, 4)])),
      })),
      {},
    );
  }
  if (result.latency !== undefined)
    process.stdout.write(
      `latency: p50 ${fixed(result.latency.p50_ms, 2)} ms, p99 ${fixed(result.latency.p99_ms, 2)} ms over ${result.latency.requests} requests\n`,
    );
  for (const alert of result.alerts)
    process.stdout.write(`alert ${alert.rule}: ${alert.state} (${fixed(alert.value, 4)})\n`);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `slipway monitor set|status|run|report|rules|labels|reference|compare`. */
export function registerMonitorCommands(program: Command): void {
  const monitor = program
    .command('monitor')
    .description('drift, data quality, performance and alerts of endpoints');

  addClientOptions(
    monitor.command('set <endpoint>').description('create or change the monitor of an endpoint'),
  )
    .option('--window <duration>', 'window each run compares with the reference, e.g. 1h')
    .option('--interval <duration>', 'how often the monitor runs, e.g. 5m')
    .option('--tumbling', 'use whole, aligned windows instead of the last --window before each run')
    .option('--baseline <kind>', 'reference | previous_window')
    .option('--sample-rate <share>', 'share of requests logged and monitored, 0-1')
    .option('--drift-share <share>', 'dataset drift when at least this share of features drift')
    .option(
      '--test <column=test[:threshold]>',
      'drift test per column, e.g. distance=ks:0.01 (repeatable)',
      collect,
    )
    .option('--task <task>', 'classification | regression (default: from the model outputs)')
    .option(
      '--reference-version <version>',
      'pin the reference to this version (default: the stable version)',
    )
    .action(
      async (
        endpoint: string,
        options: Options & Record<string, string | string[] | boolean | undefined>,
      ) => {
        const settings: Record<string, unknown> = {};
        if (typeof options.window === 'string') settings.window_ms = parseDurationMs(options.window);
        if (typeof options.interval === 'string') settings.interval_ms = parseDurationMs(options.interval);
        if (options.tumbling === true) settings.window_kind = 'tumbling';
        if (typeof options.baseline === 'string') settings.baseline = options.baseline;
        if (typeof options.sampleRate === 'string') settings.sample_rate = Number(options.sampleRate);
        if (typeof options.driftShare === 'string') settings.drift_share = Number(options.driftShare);
        if (typeof options.task === 'string') settings.task = options.task;
        if (typeof options.referenceVersion === 'string')
          settings.reference_version = options.referenceVersion;
        if (Array.isArray(options.test)) {
          const tests: Record<string, { test: string; threshold?: number }> = {};
          for (const spec of options.test) {
            const match = /^([^=]+)=([a-z]+)(?::([0-9.eE-]+))?$/.exec(spec);
            if (match === null)
              throw new Error(`--test '${spec}': expected COLUMN=TEST[:THRESHOLD], e.g. distance=ks:0.01`);
            tests[match[1] as string] = {
              test: match[2] as string,
              ...(match[3] !== undefined && { threshold: Number(match[3]) }),
            };
          }
          settings.tests = tests;
        }
        printObject(await clientFrom(options).configureMonitor(endpoint, settings), options);
      },
    );

  addClientOptions(
    monitor.command('status [endpoint]').description('monitors: last run, drift, labels, alert states'),
  ).action(async (endpoint: string | undefined, options: Options) => {
    const client = clientFrom(options);
    const list = endpoint === undefined ? await client.listMonitors() : [await client.getMonitor(endpoint)];
    printRows(
      list.map((m) => ({
        endpoint: m.endpoint,
        last_run: formatTime(m.last_run_at ?? undefined),
        rows: m.latest?.metrics.rows ?? 0,
        drift_share: fixed(m.latest?.drift?.drift_share),
        dataset_drift: m.latest?.drift?.dataset_drift ?? '',
        labels: m.labels.accepted,
        firing:
          m.rules
            .filter((r) => r.state === 'firing')
            .map((r) => r.name)
            .join(',') || '-',
      })),
      options,
      list,
    );
  });

  addClientOptions(
    monitor.command('run <endpoint>').description('run the monitor now and print its result'),
  ).action(async (endpoint: string, options: Options) => {
    const result = await clientFrom(options).runMonitor(endpoint);
    if (options.json === true) printObject(result, options);
    else printResult(result);
  });

  addClientOptions(
    monitor
      .command('report <endpoint>')
      .description('drift, quality, performance and latency for an interval'),
  )
    .option('--from <time>', 'ISO time or epoch ms (default: 24 h before --to)')
    .option('--to <time>', 'ISO time or epoch ms (default: now)')
    .option('--html <file>', 'write a self-contained HTML report to this file')
    .action(async (endpoint: string, options: Options & { from?: string; to?: string; html?: string }) => {
      const client = clientFrom(options);
      const range = {
        ...(options.from !== undefined && { from: options.from }),
        ...(options.to !== undefined && { to: options.to }),
      };
      if (options.html !== undefined) {
        await writeFile(options.html, await client.monitorReportHtml(endpoint, range));
        process.stderr.write(`wrote ${resolve(options.html)}\n`);
      }
      const result = await client.monitorReport(endpoint, range);
      if (options.json === true) printObject(result, options);
      else printResult(result);
    });

  addClientOptions(monitor.command('rules <endpoint>').description('list, set or delete alert rules'))
    .option('--set <name>', 'create or change the rule NAME (with --expr)')
    .option('--expr <expression>', "e.g. 'drift_share >= 0.5', 'auc < 0.8', 'p99_latency > 50ms for 5m'")
    .option('--webhook <url>', 'POST a JSON notification here on firing and on resolving')
    .option('--slack', 'send a Slack-compatible payload (with "text")')
    .option('--pipeline <name>', 'on firing, start this pipeline with the alert as its input')
    .option('--delete <name>', 'remove the rule NAME')
    .action(async (endpoint: string, options: Options & Record<string, string | boolean | undefined>) => {
      const client = clientFrom(options);
      if (typeof options.delete === 'string') await client.deleteAlertRule(endpoint, options.delete);
      if (typeof options.set === 'string') {
        if (typeof options.expr !== 'string')
          throw new Error('--set needs --expr, e.g. --expr "drift_share >= 0.5"');
        await client.setAlertRule(endpoint, options.set, {
          expression: options.expr,
          ...(typeof options.webhook === 'string' && { webhook_url: options.webhook }),
          ...(options.slack === true && { webhook_format: 'slack' as const }),
          ...(typeof options.pipeline === 'string' && { pipeline: options.pipeline }),
        });
      }
      const rules = await client.listAlertRules(endpoint);
      printRows(
        rules.map((r) => ({
          name: r.name,
          expression: r.expression,
          state: r.state,
          since: formatTime(r.state_since),
          last_value: fixed(r.last_value, 4),
          webhook: r.webhook_url ?? '',
          pipeline: r.pipeline ?? '',
        })),
        options,
        rules,
      );
    });

  addClientOptions(
    monitor.command('labels <endpoint>').description('send ground-truth labels for logged predictions'),
  )
    .option('--file <file>', 'Parquet, CSV or JSON file with request ids and labels')
    .option('--id-column <name>', 'request id column', 'request_id')
    .option('--label-column <name>', 'label column', 'label')
    .option('--row-column <name>', 'row index column, for multi-row requests')
    .option('--label <id=value>', 'one label inline (repeatable)', collect)
    .action(async (endpoint: string, options: Options & Record<string, string | string[] | undefined>) => {
      const labels: { request_id: string; row?: number; label: number }[] = [];
      for (const inline of (options.label as string[] | undefined) ?? []) {
        const at = inline.lastIndexOf('=');
        if (at <= 0) throw new Error(`--label '${inline}': expected REQUEST_ID=VALUE`);
        labels.push({ request_id: inline.slice(0, at), label: Number(inline.slice(at + 1)) });
      }
      if (typeof options.file === 'string') {
        const idColumn = options.idColumn as string;
        const labelColumn = options.labelColumn as string;
        const rowColumn = options.rowColumn as string | undefined;
        const columns = await readColumns({ path: options.file }, [
          idColumn,
          labelColumn,
          ...(rowColumn === undefined ? [] : [rowColumn]),
        ]);
        const ids = columns[idColumn] as unknown[];
        ids.forEach((id, i) => {
          labels.push({
            request_id: String(id),
            label: Number(columns[labelColumn]?.[i]),
            ...(rowColumn !== undefined && { row: Number(columns[rowColumn]?.[i]) }),
          });
        });
      }
      if (labels.length === 0) throw new Error('no labels: give --file or --label');
      const client = clientFrom(options);
      const total = {
        accepted: 0,
        duplicate: 0,
        conflicting: 0,
        unknown: 0,
        unknown_request_ids: [] as string[],
      };
      for (let i = 0; i < labels.length; i += 10_000) {
        const outcome = await client.sendLabels(endpoint, labels.slice(i, i + 10_000));
        total.accepted += outcome.accepted;
        total.duplicate += outcome.duplicate;
        total.conflicting += outcome.conflicting;
        total.unknown += outcome.unknown;
        total.unknown_request_ids.push(
          ...outcome.unknown_request_ids.slice(0, 100 - total.unknown_request_ids.length),
        );
      }
      printObject(total, options);
    });

  addClientOptions(
    monitor.command('reference <model> <version>').description("set a version's reference profile"),
  )
    .option('--data <file>', 'Parquet, CSV or JSON file readable by the server, with the model input columns')
    .option('--sql <query>', 'a DuckDB query the server runs instead')
    .action(async (model: string, version: string, options: Options & { data?: string; sql?: string }) => {
      if ((options.data === undefined) === (options.sql === undefined))
        throw new Error('give exactly one of --data FILE or --sql QUERY');
      const source =
        options.data !== undefined ? { path: resolve(options.data) } : { sql: options.sql as string };
      printObject(await clientFrom(options).setReference(model, version, source), options);
    });

  addClientOptions(
    monitor.command('compare').description('drift and data quality of one dataset against another'),
  )
    .requiredOption('--reference <file|sql>', 'reference rows: a file path, or a query starting with SELECT')
    .requiredOption('--current <file|sql>', 'current rows: a file path, or a query starting with SELECT')
    .option('--columns <names>', 'comma-separated columns to compare (default: all)')
    .option('--html <file>', 'write a self-contained HTML report to this file')
    .action(
      async (options: Options & { reference: string; current: string; columns?: string; html?: string }) => {
        const source = (text: string) =>
          /^\s*(select|with|from)\b/i.test(text) ? { sql: text } : { path: resolve(text) };
        const input = {
          reference: source(options.reference),
          current: source(options.current),
          ...(options.columns !== undefined && { columns: options.columns.split(',') }),
        };
        const client = clientFrom(options);
        if (options.html !== undefined) {
          await writeFile(options.html, await client.compareDatasetsHtml(input));
          process.stderr.write(`wrote ${resolve(options.html)}\n`);
        }
        const comparison = await client.compareDatasets(input);
        if (options.json === true) printObject(comparison, options);
        else printComparison(comparison);
      },
    );
}
