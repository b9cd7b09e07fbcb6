import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GateResult, type GateRunner, runGate } from '../../src/pipelines/index.js';
import { logTraining, readTabular, trainTabular } from '../../src/training/index.js';
import { startTestServer, type TestServer } from '../support/slipway.js';
import { writeFixtureParquet } from './fixtures.js';

const root = join(import.meta.dirname, '../..');

// The test server is named with --tracking-uri; a run id from the environment must not leak in.
const cliEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !['MLFLOW_RUN_ID', 'MLFLOW_TRACKING_URI', 'SLIPWAY_TRACKING_URI'].includes(key),
  ),
);

/** Runs the real CLI (from sources) against the test server: exit code, stdout, stderr. */
function slipway(
  server: TestServer,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'test/gate/cli-entry.ts'), ...args, '--tracking-uri', server.url],
      { cwd: root, env: cliEnv },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('slipway train + slipway gate, end to end', () => {
  let server: TestServer;
  let dir: string;
  let train: string;
  let holdout: string;
  let passedResult: GateResult | undefined;

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'slipway-gate-'));
    train = join(dir, 'train.parquet');
    holdout = join(dir, 'holdout.parquet');
    await writeFixtureParquet(train, 6000, 1);
    await writeFixtureParquet(holdout, 3000, 2);

    // v1, the champion: logistic regression on one weak feature. v2: boosted trees on all of them.
    const weak = await slipway(
      server,
      'train',
      '--data',
      train,
      '--label',
      'delayed',
      '--features',
      'hour',
      '--model',
      'logreg',
      '--register',
      'delays',
      '--alias',
      'champion',
      '--json',
    );
    expect(weak.stderr).toBe('');
    expect(weak.code).toBe(0);
    expect(JSON.parse(weak.stdout)).toMatchObject({ algorithm: 'logreg', registered: 'delays/1' });
    const strong = await slipway(
      server,
      'train',
      '--data',
      train,
      '--label',
      'delayed',
      '--features',
      'distance_k,hour',
      '--categorical',
      'city',
      '--model',
      'gbt',
      '--trees',
      '40',
      '--register',
      'delays',
      '--json',
    );
    expect(strong.code).toBe(0);
    expect(JSON.parse(strong.stdout)).toMatchObject({ algorithm: 'gbt', registered: 'delays/2' });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('records training metadata the registry shows', async () => {
    const detail = await server.client.getModelVersionDetail('delays', '2');
    expect(detail.flavor).toBe('onnx');
    expect(detail.signature?.inputs.map((i) => [i.name, i.datatype])).toEqual([
      ['distance_k', 'FP32'],
      ['hour', 'FP32'],
      ['city', 'BYTES'],
    ]);
    expect(detail.card.params).toMatchObject({ algorithm: 'gbt', label: 'delayed', trees: '40' });
    expect(Number(detail.card.metrics.holdout_roc_auc)).toBeGreaterThan(0.75);
    expect(detail.lineage.datasets).toEqual([
      expect.objectContaining({ name: 'train.parquet', source_type: 'local', context: 'training' }),
    ]);
    expect(detail.lineage.datasets[0]?.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(detail.model_version.tags).toContainEqual({ key: 'slipway.label', value: 'delayed' });
  });

  it('passes a better candidate (exit 0) with a report naming each metric, its values and the rule', async () => {
    const reportFile = join(dir, 'gate.md');
    const passed = await slipway(
      server,
      'gate',
      '--candidate',
      'delays@2',
      '--baseline',
      'delays@champion',
      '--data',
      holdout,
      '--metric',
      'auc:min_delta=0.0',
      '--metric',
      'log_loss:min_relative_change=0.01',
      '--metric',
      'latency_p99_ms:max=5000',
      '--slice',
      'city',
      '--latency-requests',
      '50',
      '--report',
      reportFile,
      '--json',
    );
    expect(passed.stderr).toBe('');
    expect(passed.code).toBe(0);
    const result = JSON.parse(passed.stdout) as GateResult;
    passedResult = result;
    expect(result).toMatchObject({ passed: true, task: 'classification', label: 'delayed', rows: 3000 });
    expect(result.candidate).toMatchObject({ name: 'delays', version: '2' });
    expect(result.baseline).toMatchObject({ name: 'delays', version: '1', aliases: ['champion'] });
    const [auc, logLoss, latency] = result.metrics;
    expect(auc?.candidate).toBeGreaterThan((auc?.baseline ?? 1) + 0.05);
    expect(logLoss?.candidate).toBeLessThan(logLoss?.baseline ?? 0);
    expect(latency?.candidate).toBeGreaterThan(0);
    expect(result.slices?.judged.map((s) => s.value).sort()).toEqual(['ATL', 'JFK', 'ORD', 'SEA', 'SFO']);

    const report = await readFile(reportFile, 'utf8');
    expect(report).toContain('## Slipway gate: ✅ PASSED');
    expect(report).toContain(
      `| \`auc\` | ${auc?.candidate.toFixed(4)} | ${auc?.baseline?.toFixed(4)} | +${auc?.delta?.toFixed(4)} | candidate >= baseline + 0 (min_absolute_change) | ✅ pass |`,
    );
    expect(report).toContain(
      `| \`log_loss\` | ${logLoss?.candidate.toFixed(4)} | ${logLoss?.baseline?.toFixed(4)} | ${logLoss?.delta?.toFixed(4)} | (baseline - candidate) / |baseline| >= 0.01 (min_relative_change) | ✅ pass |`.replace(
        '/ |baseline|',
        '/ \\|baseline\\|',
      ),
    );
    expect(report).toMatch(
      /\| `latency_p99_ms` \| [\d.]+ \| [\d.]+ \| [+-][\d.]+ \| candidate <= 5000 \(max\) \| ✅ pass \|/,
    );
    expect(report).toContain('### Slices by `city`: all pass');
    expect(report).toMatch(/\| `SEA` \| \d+ \| `auc` \|/);
  });

  it('fails a worse candidate (exit 1) and says which rule failed', async () => {
    const failed = await slipway(
      server,
      'gate',
      '--candidate',
      'delays@1',
      '--baseline',
      'delays/2',
      '--data',
      holdout,
      '--metric',
      'auc:min_delta=0',
      '--metric',
      'auc:threshold=0.5',
      '--latency-requests',
      '20',
    );
    expect(failed.stderr).toBe('');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('## Slipway gate: ❌ FAILED');
    expect(failed.stdout).toMatch(
      /\| `auc` \| 0\.\d{4} \| 0\.\d{4} \| -0\.\d{4} \| candidate >= baseline \+ 0 \(min_absolute_change\) \| ❌ fail \|/,
    );
    expect(failed.stdout).toMatch(
      /\| `auc` \| 0\.\d{4} \| 0\.\d{4} \| -0\.\d{4} \| candidate >= 0.5 \(threshold\) \| ✅ pass \|/,
    );
  });

  it('a failing slice fails the gate', async () => {
    // An absolute AUC bar the model clears overall but its weakest city does not.
    const slices = passedResult?.slices?.judged ?? [];
    const overall = passedResult?.metrics[0]?.candidate ?? Number.NaN;
    const weakest = slices.reduce((a, b) =>
      (a.metrics[0]?.candidate ?? 1) < (b.metrics[0]?.candidate ?? 1) ? a : b,
    );
    const weakestAuc = weakest.metrics[0]?.candidate ?? Number.NaN;
    expect(weakestAuc).toBeLessThan(overall);
    const bar = ((weakestAuc + overall) / 2).toFixed(4);
    const sliced = await slipway(
      server,
      'gate',
      '--candidate',
      'delays@2',
      '--data',
      holdout,
      '--metric',
      `auc:threshold=${bar}`,
      '--slice',
      'city',
      '--latency-requests',
      '5',
    );
    expect(sliced.code).toBe(1);
    expect(sliced.stdout).toContain('## Slipway gate: ❌ FAILED');
    expect(sliced.stdout).toMatch(
      new RegExp(
        `\\| \`auc\` \\| [\\d.]+ \\| – \\| – \\| candidate >= ${Number(bar)} \\(threshold\\) \\| ✅ pass \\|`,
      ),
    );
    expect(sliced.stdout).toMatch(
      new RegExp(`### Slices by \`city\`: \\d failing \\(.*\`${weakest.value}\`.*\\)`),
    );
    expect(sliced.stdout).toMatch(
      new RegExp(`\\| \`${weakest.value}\` \\| \\d+ \\| \`auc\` \\| .* \\| ❌ fail \\|`),
    );
  });

  it("runs as the pipeline runner's gate step (same function, plain options)", async () => {
    // The pipeline engine injects runGate as its GateRunner: the types must line up, and a YAML step's
    // snake_case keys must work.
    const runner: GateRunner = runGate;
    const outcome = await runner({
      candidate: 'delays@2',
      baseline: 'delays@champion',
      data: holdout,
      metrics: ['auc:min_delta=0'],
      latency_requests: 5,
      trackingUri: server.url,
    });
    expect(outcome.passed).toBe(true);
    expect(outcome.report).toContain('| `auc` |');
  });

  it('judges regressors by rmse, mae and r2', async () => {
    const data = await readTabular({
      source: { file: train },
      numeric: ['distance_k', 'hour'],
      categorical: ['city'],
      label: 'delay_min',
    });
    const features = { numeric: ['distance_k', 'hour'], categorical: ['city'] };
    for (const [algorithm, numeric] of [
      ['linear', ['hour']],
      ['gbt', features.numeric],
    ] as const) {
      const result = trainTabular(data, {
        algorithm,
        features: { ...features, numeric: [...numeric], categorical: algorithm === 'gbt' ? ['city'] : [] },
        labelName: 'delay_min',
        gbt: { trees: 30 },
      });
      await logTraining(server.client, result, { registerAs: 'minutes', label: 'delay_min' });
    }
    const better = await runGate({
      trackingUri: server.url,
      candidate: 'minutes@2',
      baseline: 'minutes@1',
      data: holdout,
      metrics: ['rmse:min_relative_change=0.1', 'mae:min_delta=0', 'r2:threshold=0.5'],
      latencyRequests: 5,
    });
    expect(better.task).toBe('regression');
    expect(better.label).toBe('delay_min');
    expect(better.metrics.map((m) => m.status)).toEqual(['pass', 'pass', 'pass']);
    expect(better.report).toMatch(
      /\| `rmse` \| [\d.]+ \| [\d.]+ \| -[\d.]+ \| \(baseline - candidate\) \/ \\\|baseline\\\| >= 0.1/,
    );
    const worse = await runGate({
      trackingUri: server.url,
      candidate: 'minutes@1',
      baseline: 'minutes@2',
      data: holdout,
      metrics: ['rmse:min_delta=0'],
      latencyRequests: 5,
    });
    expect(worse.passed).toBe(false);
    expect(worse.metrics[0]?.candidate).toBeGreaterThan(
      worse.metrics[0]?.baseline ?? Number.POSITIVE_INFINITY,
    );
  });

  it('bad references, columns and rules exit 2 with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--candidate', 'nope@champion', '--metric', 'auc:threshold=0.5'],
        /Cannot resolve --candidate 'nope@champion'/,
      ],
      [['--candidate', 'delays@7', '--metric', 'auc:threshold=0.5'], /Cannot resolve --candidate 'delays@7'/],
      [
        ['--candidate', 'delays@2', '--metric', 'auc:threshold=0.5', '--label', 'late'],
        /Column 'late' is not in .*holdout\.parquet.*--label/,
      ],
      [
        ['--candidate', 'delays@2', '--metric', 'auc:threshold=0.5', '--slice', 'airport'],
        /Column 'airport' is not in/,
      ],
      [['--candidate', 'delays@2', '--metric', 'aucc:min_delta=0'], /unknown metric 'aucc'/],
      [['--candidate', 'delays@2', '--metric', 'rmse:max=1'], /Metric 'rmse' needs a regression model/],
      [
        ['--candidate', 'delays@2', '--metric', 'auc:min_delta=0'],
        /compares with a baseline, but no baseline was given/,
      ],
      [
        ['--candidate', 'delays@2', '--metric', 'auc:threshold=0.5', '--max-rows', 'many'],
        /--max-rows 'many' is not valid/,
      ],
    ];
    // Independent processes: run them side by side (they time nothing).
    const outcomes = await Promise.all(
      cases.map(([args]) => slipway(server, 'gate', '--data', holdout, ...args)),
    );
    cases.forEach(([args, message], i) => {
      expect(outcomes[i]?.stderr, args.join(' ')).toMatch(message);
      expect(outcomes[i]?.code, args.join(' ')).toBe(2);
    });
    const missing = await slipway(server, 'gate', '--candidate', 'delays@2', '--metric', 'auc:threshold=0.5');
    expect(missing.stderr).toMatch(/required option '--data <file>' not specified/);
    expect(missing.code).toBe(2);
  });
});
