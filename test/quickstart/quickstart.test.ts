import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuickstart } from '../../src/quickstart/index.js';
import type { Slipway } from '../../src/server.js';
import { api } from '../support/slipway.js';

const root = join(import.meta.dirname, '../..');

/**
 * `slipway quickstart --fast`: the whole loop on the flights data. The outcomes are read back from the API, not
 * from what was printed: versions, the alert that fired and the run it started, the gate verdict, the canary.
 */
describe('slipway quickstart --fast', () => {
  let dir: string;
  let slipway: Slipway | undefined;
  beforeAll(async () => {
    // Pipeline steps run the `slipway` binary; `npm test` builds dist/ first.
    if (!existsSync(join(root, 'dist/cli/main.js')))
      await promisify(execFile)('npm', ['run', 'build'], { cwd: root });
    dir = await mkdtemp(join(tmpdir(), 'slipway-quickstart-'));
  });
  afterAll(async () => {
    await slipway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('trains, deploys, detects the AUC drop, retrains, gates and promotes a canary', async () => {
    const lines: string[] = [];
    const run = await runQuickstart({
      dataDir: join(dir, 'run'),
      fast: true,
      port: 0,
      print: (l) => lines.push(l),
    });
    slipway = run.slipway;
    const { url } = run.summary;

    // Two versions of the model, both from pipeline runs, each with its training run and dataset as lineage.
    const versions = await api(url, 'POST', '/api/2.0/mlflow/model-versions/search', {
      filter: "name='flights-delay'",
    });
    const found = (versions.json.model_versions as { version: string; run_id: string }[]).map(
      (v) => v.version,
    );
    expect(found.sort()).toEqual(['1', '2']);
    const v2 = await api(url, 'GET', '/api/v1/models/flights-delay/versions/2');
    expect((v2.json.lineage as { datasets: unknown[] }).datasets.length).toBeGreaterThan(0);

    // The alert fired once, and its delivery names the retraining run it started.
    const events = await api(url, 'GET', '/api/v1/endpoints/flights-delay/alert-events');
    const fired = (
      events.json.events as { rule: string; state: string; delivery: { pipeline?: { run_id: string } } }[]
    ).filter((e) => e.rule === 'auc-drop' && e.state === 'firing');
    expect(fired).toHaveLength(1);
    const runId = fired[0]?.delivery.pipeline?.run_id as string;
    expect(runId).toBe(run.summary.retrains[0]?.pipeline_run_id);
    expect(run.summary.retrains[0], JSON.stringify(run.summary.retrains[0])).toMatchObject({
      gate_passed: true,
      rollout_state: 'promoted',
    });

    // That run: started by the alert, every step succeeded, the gate among them.
    const retrain = await api(url, 'GET', `/api/v1/pipeline-runs/${runId}`);
    expect(retrain.json).toMatchObject({ pipeline: 'flights-retrain', reason: 'alert', status: 'succeeded' });
    const steps = retrain.json.steps as { name: string; status: string }[];
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['train_set', 'succeeded'],
      ['holdout_set', 'succeeded'],
      ['train', 'succeeded'],
      ['register', 'succeeded'],
      ['gate', 'succeeded'],
      ['deploy', 'succeeded'],
    ]);

    // The canary was promoted: v2 is stable, and the history says how it got there.
    const endpoint = await api(url, 'GET', '/api/v1/endpoints/flights-delay');
    expect(endpoint.json.stable_version).toBe('2');
    const history = await api(url, 'GET', '/api/v1/endpoints/flights-delay/history');
    const kinds = (history.json.events as { kind: string }[]).map((e) => e.kind);
    expect(kinds[0]).toBe('create');
    expect(kinds).toContain('canary');
    expect(kinds.at(-1)).toBe('promote');

    // Monitoring saw every month, with labels joined; the report exists.
    expect(run.summary.months.map((m) => m.month)).toEqual(['2001-03', '2001-04', '2001-05', '2001-06']);
    for (const month of run.summary.months) expect(month.auc).toBeGreaterThan(0.5);
    const status = await api(url, 'GET', '/api/v1/endpoints/flights-delay/monitor');
    expect((status.json.labels as { accepted: number }).accepted).toBe(3200);
    expect(await readFile(run.summary.report_file, 'utf8')).toContain('<svg');
  });
});
