import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolveServerConfig } from '../core/config.js';
import { newHexId } from '../core/ids.js';
import { flightsParquetPath } from '../core/sample-data.js';
import { loadDefinitionsFile } from '../features/index.js';
import type { MonitorResult } from '../monitoring/index.js';
import { createClient, type SlipwayClient } from '../sdk/index.js';
import { createSlipway, type Slipway } from '../server.js';

/** Where the package's files are: `src/quickstart` and `dist/quickstart` both sit two levels below it. */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface QuickstartOptions {
  /** A folder for this run's server (wiped first). */
  dataDir: string;
  /** Small samples (under a minute); the default sizes take a few minutes. */
  fast?: boolean;
  host?: string;
  /** Default 5000; if taken, any free port. */
  port?: number;
  /** Progress lines. */
  print?: (line: string) => void;
  /** Progress of long phases (replaying a month): rows done of total. */
  progress?: (phase: string, done: number, total: number) => void;
}

export interface RetrainOutcome {
  month: string;
  pipeline_run_id: string;
  status: string;
  candidate_version?: string;
  gate_passed?: boolean;
  rollout_state?: string;
  /** The canary's last analysis: each check's verdict and why. */
  rollout_checks?: string[];
}

export interface MonthOutcome {
  month: string;
  rows: number;
  drift_share: number;
  drifted: string[];
  auc?: number;
  /** Versions that answered this month's traffic. */
  versions: string[];
  alerts: { rule: string; state: string }[];
}

/** What happened, read back from the API (the test asserts on the same calls). */
export interface QuickstartSummary {
  url: string;
  report_url: string;
  report_file: string;
  endpoint: string;
  champion_version: string;
  champion_auc?: number;
  alert_rule: string;
  months: MonthOutcome[];
  /** The months in which the alert fired (each time it went from ok to firing). */
  alert_months: string[];
  /** Every retraining run an alert started, in order. */
  retrains: RetrainOutcome[];
  final_stable_version: string;
  seconds: number;
}

const ENDPOINT = 'flights-delay';
const MODEL = 'flights-delay';
// Served features come from the online store as of the start of each replayed week, so the model uses the
// weekly statistics (a day-old value would be up to a week stale at serving) and an on-demand transform.
const FEATURE_COLUMNS = ['origin_avg_delay_7d', 'origin_flights_7d', 'long_haul'];
const MONTHS = ['2001-03', '2001-04', '2001-05', '2001-06'];

const sizes = (fast: boolean) =>
  fast
    ? {
        trainRows: 12_000,
        weekRows: 400,
        weeksPerMonth: 2,
        trees: 25,
        requestRows: 40,
        canaryIntervalMs: 1500,
      }
    : {
        trainRows: 150_000,
        weekRows: 2_500,
        weeksPerMonth: 4,
        trees: 80,
        requestRows: 50,
        canaryIntervalMs: 4000,
      };

/**
 * The whole loop on real data (vega-datasets' 3M flights of Jan–Jun 2001), as a user would drive it against a
 * fresh server: features → point-in-time training set → train, log, register, deploy (a pipeline) → replay March
 * to June through the endpoint with labels arriving after each month → monitor drift and AUC per month → the
 * alert fires and starts the retraining pipeline → gate against the champion → canary → promote.
 */
export async function runQuickstart(options: QuickstartOptions): Promise<{
  summary: QuickstartSummary;
  slipway: Slipway;
}> {
  const started = performance.now();
  const print = options.print ?? (() => {});
  const size = sizes(options.fast === true);
  await rm(options.dataDir, { recursive: true, force: true });
  await mkdir(options.dataDir, { recursive: true });

  // 1. A fresh server on embedded storage (SQLite, a local artifact folder), in this process.
  const host = options.host ?? '127.0.0.1';
  const config = resolveServerConfig({
    dataDir: options.dataDir,
    host,
    port: options.port ?? 5000,
    logLevel: 'warn',
  });
  const slipway = await createSlipway(config, {
    logger: false,
    monitorBucketMs: 1000,
    controllerTickMs: 250,
    pipelineTickMs: 500,
  });
  let url: string;
  try {
    url = await slipway.app.listen({ host, port: config.port });
  } catch {
    url = await slipway.app.listen({ host, port: 0 });
  }
  const client = createClient({ baseUrl: url, timeoutMs: 600_000 });
  print(`server ${url} (data in ${options.dataDir})`);

  try {
    const summary = await loop(client, url, options, size, print);
    summary.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
    return { summary, slipway };
  } catch (error) {
    await slipway.close();
    throw error;
  }
}

async function loop(
  client: SlipwayClient,
  url: string,
  options: QuickstartOptions,
  size: ReturnType<typeof sizes>,
  print: (line: string) => void,
): Promise<QuickstartSummary> {
  // 2. Feature definitions: per-origin and per-destination rolling delay statistics, and an on-demand ratio.
  const definitions = await loadDefinitionsFile(join(packageRoot, 'examples/flights/features.yaml'));
  const applied = await client.applyFeatures(definitions);
  print(`features: applied version ${applied.version} (${applied.changes.length} changes)`);

  // 3. Two pipelines from one template: the first training, and the retraining an alert starts.
  const pipelineDir = join(options.dataDir, 'pipelines');
  await mkdir(pipelineDir, { recursive: true });
  const trainSpec = pipelineSpec('flights-train', size, { alias: 'champion', gate: false });
  await client.applyPipeline(trainSpec, pipelineDir, 'quickstart: flights-train');
  const retrainParams = (month: string) => {
    const start = new Date(`${month}-01T00:00:00Z`);
    const previous = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() - 1, 1));
    const next = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    const mid = new Date(start.getTime() + 14 * 86_400_000);
    return { since: iso(previous), holdout_from: iso(mid), until: iso(next) };
  };
  const applyRetrain = (month: string) =>
    client.applyPipeline(
      pipelineSpec('flights-retrain', size, {
        alias: 'challenger',
        gate: true,
        params: retrainParams(month),
      }),
      pipelineDir,
      'quickstart: flights-retrain',
    );
  await applyRetrain(MONTHS[0] as string);

  print('training the champion on January–February (pipeline flights-train)…');
  const first = await client.startPipelineRun('flights-train', {
    since: '2001-01-01',
    holdout_from: '2001-02-15',
    until: '2001-03-01',
  });
  const firstRun = await waitForPipeline(client, first.id, print);
  if (firstRun.status !== 'succeeded')
    throw new Error(`flights-train failed: ${firstRun.error ?? firstRun.status}`);
  const champion = await client.getModelVersionByAlias(MODEL, 'champion');
  const detail = await client.getModelVersionDetail(MODEL, champion.version);
  const championAuc = detail.card.metrics.holdout_roc_auc as number | undefined;
  print(
    `champion: ${MODEL} v${champion.version}, holdout AUC ${fmt(championAuc)}; deployed to endpoint ${ENDPOINT}`,
  );

  // 4. Serving with features looked up online, a monitor, and the alert that retrains.
  await client.bindEndpointFeatures(ENDPOINT, 'delay_model');
  // The version's reference profile is captured from its training set (the run's dataset) on registration.
  await waitFor(async () => client.getReference(MODEL, champion.version), 120_000);
  await client.configureMonitor(ENDPOINT, { window_ms: 3_600_000 });
  const threshold = Number(((championAuc ?? 0.65) - 0.03).toFixed(3));
  const alertRule = `auc < ${threshold}`;
  await client.setAlertRule(ENDPOINT, 'auc-drop', { expression: alertRule, pipeline: 'flights-retrain' });
  await client.setAlertRule(ENDPOINT, 'drift', { expression: 'drift_share >= 0.5' });
  print(`monitor on ${ENDPOINT}: rule auc-drop '${alertRule}' starts pipeline flights-retrain`);

  // 5. Replay March–June, a month at a time; labels arrive after each month.
  await client.materializeFeatures({ start: '2001-01-01T00:00:00Z', end: '2001-03-01T00:00:00Z' });
  const months: MonthOutcome[] = [];
  const replayStart = Date.now();
  const retrains: RetrainOutcome[] = [];
  const alertMonths: string[] = [];
  const followed = new Set<string>();
  for (const month of MONTHS) {
    await applyRetrain(month);
    await nextSecond();
    const windowStart = Date.now();
    const answered: Awaited<ReturnType<typeof replay>> = [];
    let rows: FlightRow[] = [];
    for (let week = 0; week < size.weeksPerMonth; week++) {
      // The online store holds each feature as of the start of the week being replayed: never a later value.
      const from = Date.parse(`${month}-01T00:00:00Z`) + week * 7 * 86_400_000;
      const to = week === 3 ? Date.parse(`${nextMonth(month)}-01T00:00:00Z`) : from + 7 * 86_400_000;
      await client.materializeFeaturesIncremental({ end: new Date(from).toISOString() });
      rows = await sampleFlights(from, to, size.weekRows);
      const total = size.weekRows * size.weeksPerMonth;
      answered.push(
        ...(await replay(url, rows, size.requestRows, month, (n) =>
          options.progress?.(`replaying ${month}`, answered.length + n, total),
        )),
      );
    }
    await nextSecond();
    const windowEnd = Date.now();
    const labels = await client.sendLabels(
      ENDPOINT,
      answered.map((a) => ({ request_id: a.requestId, row: a.row, label: a.delayed })),
    );
    const result: MonitorResult = await client.runMonitor(ENDPOINT, { from: windowStart, to: windowEnd });
    const outcome: MonthOutcome = {
      month,
      rows: answered.length,
      drift_share: result.drift?.drift_share ?? 0,
      drifted: result.drift?.columns.filter((c) => c.drift?.drifted).map((c) => c.column) ?? [],
      ...(result.metrics.auc !== undefined && { auc: result.metrics.auc }),
      versions: [...new Set(answered.map((a) => a.version))],
      alerts: result.alerts.map((a) => ({ rule: a.rule, state: a.state })),
    };
    months.push(outcome);
    print(
      `${month}: ${outcome.rows} flights, labels ${labels.accepted}, AUC ${fmt(outcome.auc)}, drifted [${outcome.drifted.join(', ')}], alerts ${outcome.alerts.map((a) => `${a.rule}=${a.state}`).join(' ')}`,
    );

    // 6. A firing alert started the retraining pipeline: follow each new run through gate and canary.
    const started = (await client.listPipelineRuns('flights-retrain')).filter(
      (r) => r.reason === 'alert' && !followed.has(r.id),
    );
    for (const triggered of started.reverse()) {
      followed.add(triggered.id);
      alertMonths.push(month);
      print(
        `alert auc-drop fired: retraining run ${triggered.id} (train on ${retrainParams(month).since} onwards)…`,
      );
      const done = await waitForPipeline(client, triggered.id, print);
      const gateStep = done.steps.find((s) => s.name === 'gate');
      const registerStep = done.steps.find((s) => s.name === 'register');
      const retrain: RetrainOutcome = {
        month,
        pipeline_run_id: done.id,
        status: done.status,
        ...(registerStep?.result?.version !== undefined && {
          candidate_version: registerStep.result.version,
        }),
        ...(gateStep !== undefined && { gate_passed: gateStep.status === 'succeeded' }),
      };
      retrains.push(retrain);
      if (done.status === 'succeeded') {
        print(`gate passed; canary of v${retrain.candidate_version} under live traffic…`);
        const canary = await driveCanary(client, url, rows, size.requestRows, print);
        retrain.rollout_state = canary.state;
        retrain.rollout_checks = canary.checks;
      } else {
        print(`retraining stopped: ${done.error ?? done.status}; the champion stays`);
      }
    }
  }

  const endpoint = await client.getEndpoint(ENDPOINT);
  const reportFile = join(options.dataDir, 'report.html');
  await writeFile(
    reportFile,
    await client.monitorReportHtml(ENDPOINT, { from: String(replayStart), to: String(Date.now()) }),
  );
  return {
    url,
    report_url: `${url}/api/v1/endpoints/${ENDPOINT}/monitor/report?format=html&from=${replayStart}`,
    report_file: reportFile,
    endpoint: ENDPOINT,
    champion_version: champion.version,
    ...(championAuc !== undefined && { champion_auc: championAuc }),
    alert_rule: alertRule,
    months,
    alert_months: alertMonths,
    retrains,
    final_stable_version: endpoint.stable_version,
    seconds: 0,
  };
}

/** The pipeline template: training set from the feature store (point in time), train, register, [gate], deploy. */
function pipelineSpec(
  name: string,
  size: ReturnType<typeof sizes>,
  options: { alias: string; gate: boolean; params?: Record<string, string> },
): string {
  const slipway = `node "${join(packageRoot, 'bin/slipway.js')}"`;
  const entitySql = (from: string, to: string, rows: string) =>
    // USING SAMPLE applies before WHERE in the same SELECT, so the filter sits in a subquery.
    `SELECT * FROM (SELECT date, origin, destination, CAST(distance AS DOUBLE) AS distance, ` +
    `CAST(hour(date) AS DOUBLE) AS hour, CAST(isodow(date) AS DOUBLE) AS day_of_week, ` +
    `CAST(delay > 15 AS INTEGER) AS delayed FROM read_parquet('${flightsParquetPath()}') WHERE delay IS NOT NULL ` +
    `AND date >= TIMESTAMP '${from}' AND date < TIMESTAMP '${to}') USING SAMPLE reservoir(${rows} ROWS) REPEATABLE (42)`;
  const historical = (from: string, to: string, rows: string, file: string) =>
    `${slipway} features historical --service delay_model --timestamp-column date --entity-sql "${entitySql(from, to, rows)}" --output "$SLIPWAY_OUTPUT_DIR/${file}" --tracking-uri "$MLFLOW_TRACKING_URI"`;
  const params = options.params ?? { since: '2001-01-01', holdout_from: '2001-02-15', until: '2001-03-01' };
  const lines = [
    `name: ${name}`,
    'experiment: flights-delay',
    'params:',
    ...Object.entries({ ...params, rows: String(size.trainRows) }).map(([k, v]) => `  ${k}: "${v}"`),
    'steps:',
    '  train_set:',
    `    run: ${JSON.stringify(historical('${params.since}', '${params.holdout_from}', '${params.rows}', 'train.parquet'))}`,
    '    outputs: { train: train.parquet }',
    '  holdout_set:',
    `    run: ${JSON.stringify(historical('${params.holdout_from}', '${params.until}', '5000', 'holdout.parquet'))}`,
    '    outputs: { holdout: holdout.parquet }',
    '  train:',
    `    run: ${JSON.stringify(`${slipway} train --data "$SLIPWAY_INPUT_TRAIN" --label delayed --features distance,hour,day_of_week,${FEATURE_COLUMNS.join(',')} --categorical origin,destination --model gbt --trees ${size.trees} --out "$SLIPWAY_OUTPUT_DIR/model.onnx" --tracking-uri "$MLFLOW_TRACKING_URI"`)}`,
    '    inputs: { train: steps.train_set.outputs.train }',
    '    outputs: { model: model.onnx }',
    '  register:',
    '    uses: register',
    `    with: { model: ${MODEL}, output: steps.train.outputs.model, alias: ${options.alias} }`,
  ];
  if (options.gate) {
    lines.push(
      '  gate:',
      '    uses: gate',
      '    with:',
      `      candidate: ${MODEL}/\${steps.register.version}`,
      `      baseline: ${MODEL}@champion`,
      '      data: ${steps.holdout_set.outputs.holdout}',
      '      label: delayed',
      '      metrics: ["auc:min_delta=0.0", "latency_p99_ms:max=100"]',
      '  deploy:',
      '    uses: deploy',
      '    needs: [gate]',
      '    with:',
      `      endpoint: ${ENDPOINT}`,
      `      model: ${MODEL}/\${steps.register.version}`,
      '      policy: canary',
      '      steps: [25, 100]',
      `      interval_ms: ${size.canaryIntervalMs}`,
      // p99 over a few samples is noise; the step holds (inconclusive) until there are enough.
      '      checks: [{ metric: error_rate, max: 0.01, min_samples: 50 }, { metric: latency_p99_ratio, max: 5, min_samples: 200 }]',
    );
  } else {
    lines.push(
      '  deploy:',
      '    uses: deploy',
      '    with:',
      `      endpoint: ${ENDPOINT}`,
      `      model: ${MODEL}/\${steps.register.version}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

interface FlightRow {
  date: number;
  distance: number;
  hour: number;
  day_of_week: number;
  origin: string;
  destination: string;
  delayed: number;
}

/** A reproducible sample of the flights of [fromMs, toMs), in time order: the traffic the endpoint will see. */
async function sampleFlights(fromMs: number, toMs: number, rows: number): Promise<FlightRow[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT epoch_ms(date)::DOUBLE AS date, distance::DOUBLE AS distance, hour(date)::DOUBLE AS hour,
              isodow(date)::DOUBLE AS day_of_week, origin, destination, (delay > 15)::INTEGER AS delayed
       FROM (SELECT * FROM (SELECT * FROM read_parquet('${flightsParquetPath()}')
                            WHERE delay IS NOT NULL AND date >= epoch_ms(${fromMs}) AND date < epoch_ms(${toMs}))
             USING SAMPLE reservoir(${rows} ROWS) REPEATABLE (7))
       ORDER BY date`,
    );
    return reader.getRowObjects() as unknown as FlightRow[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Sends rows through the endpoint (V2, several rows per request), with the raw columns only. */
async function replay(
  url: string,
  rows: FlightRow[],
  perRequest: number,
  tag: string,
  onRows?: (done: number) => void,
) {
  const answered: { requestId: string; row: number; delayed: number; version: string }[] = [];
  const batches: FlightRow[][] = [];
  for (let i = 0; i < rows.length; i += perRequest) batches.push(rows.slice(i, i + perRequest));
  // A few clients at a time, as traffic arrives.
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as FlightRow[];
      const requestId = `${tag}-${newHexId().slice(0, 12)}`;
      const tensor = (name: string, datatype: string, data: unknown[]) => ({
        name,
        datatype,
        shape: [batch.length, 1],
        data,
      });
      const response = await fetch(`${url}/v2/models/${ENDPOINT}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({
          inputs: [
            tensor(
              'distance',
              'FP32',
              batch.map((r) => r.distance),
            ),
            tensor(
              'hour',
              'FP32',
              batch.map((r) => r.hour),
            ),
            tensor(
              'day_of_week',
              'FP32',
              batch.map((r) => r.day_of_week),
            ),
            tensor(
              'origin',
              'BYTES',
              batch.map((r) => r.origin),
            ),
            tensor(
              'destination',
              'BYTES',
              batch.map((r) => r.destination),
            ),
          ],
        }),
      });
      const body = (await response.json()) as { model_version?: string; error?: string };
      if (!response.ok) throw new Error(`inference failed (${response.status}): ${body.error ?? ''}`);
      batch.forEach((r, row) => {
        answered.push({ requestId, row, delayed: r.delayed, version: body.model_version ?? '?' });
      });
      onRows?.(answered.length);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return answered;
}

/** Keeps traffic flowing while the canary's analysis runs, until it is promoted or rolled back. */
async function driveCanary(
  client: SlipwayClient,
  url: string,
  rows: FlightRow[],
  perRequest: number,
  print: (line: string) => void,
): Promise<{ state: string; checks: string[] }> {
  const deadline = Date.now() + 180_000;
  let last = '';
  while (Date.now() < deadline) {
    const endpoint = await client.getEndpoint(ENDPOINT);
    const rollout = endpoint.rollout;
    const state = rollout === undefined ? 'none' : rollout.state;
    const line = rollout === undefined ? state : `${state} at ${rollout.current_weight}%`;
    if (line !== last) print(`canary: ${line}`);
    last = line;
    if (rollout === undefined || (state !== 'running' && state !== 'paused')) {
      const checks = (rollout?.last_analysis?.results ?? []).map(
        (check) => `${check.metric}: ${check.verdict} (${check.reason})`,
      );
      for (const check of checks) print(`  ${check}`);
      return { state, checks };
    }
    await replay(url, rows.slice(0, perRequest * 20), perRequest, 'canary');
  }
  return { state: 'timed out', checks: [] };
}

type PipelineRun = Awaited<ReturnType<SlipwayClient['getPipelineRun']>>;

async function waitForPipeline(
  client: SlipwayClient,
  id: string,
  print: (line: string) => void,
): Promise<PipelineRun> {
  const seen = new Set<string>();
  for (;;) {
    const run = await client.getPipelineRun(id);
    for (const step of run.steps) {
      const key = `${step.name}:${step.status}`;
      if (!seen.has(key) && step.status !== 'pending' && step.status !== 'running') {
        seen.add(key);
        print(`  step ${step.name}: ${step.status}${step.cached ? ' (cached)' : ''}`);
      }
    }
    if (run.status === 'succeeded' || run.status === 'failed') {
      if (run.status !== 'succeeded') {
        const failed = run.steps.find((s) => s.status === 'failed');
        if (failed !== undefined) {
          const log = await client.pipelineStepLogs(id, failed.name).catch(() => '');
          print(`  ${failed.name} log (tail):\n${log.split('\n').slice(-15).join('\n')}`);
        }
      }
      return run;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Monitor windows are profiled in 1-second buckets: months replayed in different seconds stay apart. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
const iso = (d: Date) => d.toISOString().slice(0, 10);
const nextMonth = (month: string) => {
  const d = new Date(`${month}-01T00:00:00Z`);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString().slice(0, 7);
};
const fmt = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(3));
