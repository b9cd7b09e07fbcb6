import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/core/config.js';
import { createClient } from '../../src/sdk/index.js';
import { createSlipway, type Slipway } from '../../src/server.js';
import { registerFixture } from '../support/models.js';
import type { TestServer } from '../support/slipway.js';
import { waitFor } from '../support/wait.js';

const INTERVAL_MS = 700;
// Errors are judged on few samples (one bad answer in twenty is already 5 %); distributions need more.
const checks = [
  { metric: 'error_rate', max: 0.01, minSamples: 20 },
  { metric: 'latency_p99_ratio', max: 20, minSamples: 50 },
  { metric: 'prediction_psi', max: 0.2, minSamples: 50 },
];

/** A server on a fixed data dir (so it can be restarted on the same state), with a fast controller. */
async function startServer(dataDir: string): Promise<TestServer> {
  const slipway: Slipway = await createSlipway(resolveServerConfig({ dataDir, logLevel: 'silent' }), {
    logger: false,
    payloadLog: false,
    controllerTickMs: 100,
  });
  const url = await slipway.app.listen({ host: '127.0.0.1', port: 0 });
  return { url, slipway, dataDir, client: createClient({ baseUrl: url }), close: () => slipway.close() };
}

interface Traffic {
  stop(): Promise<{ ok: number; failedGood: string[]; failedBad: number; versions: Map<string, number> }>;
}

/** Steady load on an endpoint: 4 clients; one row in ten has a first feature of 50 (a "bad" input). */
function steadyLoad(url: string, endpoint: string): Traffic {
  let running = true;
  let ok = 0;
  let failedBad = 0;
  const failedGood: string[] = [];
  const versions = new Map<string, number>();
  let n = 0;
  const client = async () => {
    while (running) {
      const bad = n++ % 10 === 0;
      const row = Array.from({ length: 8 }, (_, i) => (bad && i === 0 ? 50 : ((n * 7 + i * 13) % 100) / 100));
      const response = await fetch(`${url}/v2/models/${endpoint}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: row }] }),
      }).catch((error: unknown) => error as Error);
      if (response instanceof Error) {
        failedGood.push(`request failed: ${response.message}`);
        if (!running) break;
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const text = await response.text();
      if (response.status === 200) {
        ok++;
        const version = response.headers.get('x-slipway-model-version') ?? '?';
        versions.set(version, (versions.get(version) ?? 0) + 1);
      } else if (bad) failedBad++;
      else failedGood.push(`${response.status} ${text.slice(0, 200)}`);
    }
  };
  const clients = Array.from({ length: 4 }, client);
  return {
    async stop() {
      running = false;
      await Promise.all(clients);
      return { ok, failedGood, failedBad, versions };
    },
  };
}

const api = async (url: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${url}${path}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json', 'x-slipway-actor': 'test' },
      body: JSON.stringify(body),
    }),
  });
  return {
    status: response.status,
    json: (await response.json()) as Record<string, unknown> & {
      rollout?: Record<string, unknown>;
      message?: string;
    },
  };
};

/** Under steady load, deploys `model` as a canary and waits until the rollout leaves `running`. */
async function canaryUnderLoad(url: string, model: string, extra: object = {}) {
  const load = steadyLoad(url, 'flights-delay');
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  await api(url, 'POST', '/api/v1/endpoints/flights-delay/deploy', {
    model,
    policy: 'canary',
    steps: [20, 50, 100],
    interval_ms: INTERVAL_MS,
    checks,
    ...extra,
  });
  const done = await waitFor(
    () => api(url, 'GET', '/api/v1/endpoints/flights-delay'),
    (r) => r.json.rollout?.state !== 'running',
    'the rollout to end',
    20_000,
  );
  const elapsedMs = Date.now() - started;
  return { done, elapsedMs, traffic: await load.stop() };
}

describe('endpoints and rollouts', () => {
  let dataDir: string;
  let server: TestServer;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'slipway-rollouts-'));
    server = await startServer(dataDir);
    expect(await registerFixture(server, 'flights', 'wide-linear.onnx')).toBe('1');
    expect(await registerFixture(server, 'flights', 'wide-linear.onnx')).toBe('2');
    expect(await registerFixture(server, 'flights', 'wide-gather.onnx')).toBe('3');
    expect(await registerFixture(server, 'flights', 'wide-shifted.onnx')).toBe('4');
    expect(await registerFixture(server, 'flights', 'linear.onnx')).toBe('5');
    const created = await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/deploy', {
      model: 'flights/1',
    });
    expect(created.status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('walks a good canary through its steps and promotes it, failing no request', async () => {
    const { done, traffic } = await canaryUnderLoad(server.url, 'flights/2');
    expect(done.json.rollout).toMatchObject({ candidate_version: '2', steps: [20, 50, 100] });
    expect(done.json.rollout?.state, JSON.stringify(done.json.rollout)).toBe('promoted');
    expect(done.json).toMatchObject({ stable_version: '2', policy: { kind: 'direct', version: '2' } });
    expect(traffic.failedGood).toEqual([]);
    expect(traffic.failedBad).toBe(0);
    expect(traffic.versions.get('2')).toBeGreaterThan(0);
    const history = await api(server.url, 'GET', '/api/v1/endpoints/flights-delay/history');
    const kinds = (history.json.events as { kind: string; actor: string }[]).map((e) => e.kind);
    expect(kinds).toEqual(['create', 'canary', 'step', 'promote']);
  });

  it('rolls back a canary that errors on some inputs within two analysis intervals', async () => {
    const hooks: unknown[] = [];
    const hookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        hooks.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    const webhookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    const {
      done,
      elapsedMs: rolledBackAfterMs,
      traffic,
    } = await canaryUnderLoad(server.url, 'flights/3', {
      webhook_url: webhookUrl,
    });
    expect(done.json.rollout?.state).toBe('rolled_back');
    expect(done.json).toMatchObject({ stable_version: '2', policy: { kind: 'direct', version: '2' } });
    // Caught at the first step, before any traffic increase (wall time is reported, not asserted: the machine is
    // shared, and speed belongs to benchmarks).
    expect(done.json.rollout?.current_step).toBe(0);
    // Only the bad version's own failures on its bad inputs; nothing from the switch.
    expect(traffic.failedGood).toEqual([]);
    expect(traffic.failedBad).toBeGreaterThan(0);
    await waitFor(
      async () => hooks.length,
      (n) => n > 0,
      'the webhook',
      5000,
    );
    hookServer.close();
    expect(hooks[0]).toMatchObject({
      endpoint: 'flights-delay',
      event: 'rolled_back',
      candidate: '3',
      baseline: '2',
    });
    const version = await server.client.getModelVersion('flights', '3');
    expect(version.tags).toContainEqual({ key: 'slipway.rollout', value: 'failed' });
    console.log(
      `error canary rolled back ${rolledBackAfterMs} ms after it started taking traffic (interval ${INTERVAL_MS} ms)`,
    );
  });

  it('rolls back a canary whose predictions shifted', async () => {
    const { done, elapsedMs: rolledBackAfterMs, traffic } = await canaryUnderLoad(server.url, 'flights/4');
    expect(done.json.rollout?.state).toBe('rolled_back');
    expect(done.json.rollout?.current_step).toBe(0);
    expect(traffic.failedGood).toEqual([]);
    const analysis = done.json.rollout?.last_analysis as { results: { metric: string; verdict: string }[] };
    expect(analysis.results.find((r) => r.metric === 'prediction_psi')?.verdict).toBe('fail');
    console.log(
      `shifted canary rolled back ${rolledBackAfterMs} ms after it started taking traffic (interval ${INTERVAL_MS} ms)`,
    );
  });

  it('splits A/B traffic within ±2 points over 10,000 requests and keeps every key sticky', async () => {
    const ab = await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/deploy', {
      model: 'flights/1',
      policy: 'ab',
      weight: 30,
    });
    expect(ab.json.policy).toEqual({
      kind: 'split',
      sticky: true,
      variants: [
        { version: '2', weight: 70 },
        { version: '1', weight: 30 },
      ],
    });
    const body = JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [0, 0, 0, 0, 0, 0, 0, 0] }],
    });
    const counts = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next++;
        const response = await fetch(`${server.url}/v2/models/flights-delay/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await response.arrayBuffer();
        const version = response.headers.get('x-slipway-model-version') ?? '?';
        counts.set(version, (counts.get(version) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const share = (counts.get('1') ?? 0) / 100;
    console.log(`A/B 70/30 over 10,000 requests: version 1 took ${share}%`);
    expect(Math.abs(share - 30)).toBeLessThan(2);
    for (let user = 0; user < 200; user++) {
      const seen = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${server.url}/v2/models/flights-delay/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-routing-key': `user-${user}` },
          body,
        });
        await response.arrayBuffer();
        seen.add(response.headers.get('x-slipway-model-version') ?? '?');
      }
      expect(seen.size).toBe(1);
    }
    const rolled = await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/rollback', {});
    expect(rolled.json.policy).toEqual({ kind: 'direct', version: '2' });
  });

  it('shadows a challenger: clients see only champion answers; the comparison is reported', async () => {
    const shadow = await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/deploy', {
      model: 'flights/4',
      policy: 'shadow',
    });
    expect(shadow.json.policy).toEqual({ kind: 'shadow', champion: '2', challenger: '4' });
    for (let i = 0; i < 200; i++) {
      const response = await fetch(`${server.url}/v2/models/flights-delay/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [i / 200, 0, 0, 0, 0, 0, 0, 0] }],
        }),
      });
      expect(response.headers.get('x-slipway-model-version')).toBe('2');
      await response.arrayBuffer();
    }
    const report = await waitFor(
      () => api(server.url, 'GET', '/api/v1/endpoints/flights-delay/shadow'),
      (r) => Number(r.json.requests) + Number(r.json.skipped) >= 200,
      '200 shadowed requests',
      5000,
    );
    expect(Number(report.json.requests) + Number(report.json.skipped)).toBe(200);
    // The challenger gets a sample of the traffic (one copy at a time, a bounded share of the CPU).
    expect(Number(report.json.requests)).toBeGreaterThan(5);
    expect(report.json).toMatchObject({ errors: 0, agreement_rate: 0 });
    expect(Number(report.json.mean_abs_diff)).toBeCloseTo(3, 4);
    await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/rollback', {});
  });

  it('refuses bad commands with clear errors and changes nothing', async () => {
    const before = await api(server.url, 'GET', '/api/v1/endpoints/flights-delay');
    const cases: [string, string, unknown, number, RegExp][] = [
      [
        'POST',
        '/api/v1/endpoints/flights-delay/deploy',
        { model: 'flights/99', policy: 'canary' },
        404,
        /version=99/,
      ],
      [
        'POST',
        '/api/v1/endpoints/flights-delay/deploy',
        { model: 'flights/5', policy: 'canary' },
        400,
        /does not match the endpoint's signature/,
      ],
      [
        'POST',
        '/api/v1/endpoints/flights-delay/deploy',
        { model: 'flights/1', policy: 'canary', steps: [50, 20] },
        400,
        /steps: expected increasing/,
      ],
      [
        'POST',
        '/api/v1/endpoints/flights-delay/deploy',
        { model: 'flights/1', policy: 'ab', weight: 130 },
        400,
        /weight/,
      ],
      [
        'POST',
        '/api/v1/endpoints/flights-delay/deploy',
        { model: 'flights/1', policy: 'sideways' },
        400,
        /policy/,
      ],
      ['POST', '/api/v1/endpoints/flights-delay/rollout/promote', {}, 400, /nothing to promote/],
      ['POST', '/api/v1/endpoints/flights-delay/rollout/pause', {}, 400, /no rollout in progress/],
      ['POST', '/api/v1/endpoints/nope/rollback', {}, 404, /'nope' does not exist/],
      [
        'POST',
        '/api/v1/endpoints/new-endpoint/deploy',
        { model: 'flights/1', policy: 'canary' },
        400,
        /deploy a first version/,
      ],
    ];
    for (const [method, path, body, status, message] of cases) {
      const response = await api(server.url, method, path, body);
      expect({ path, body, status: response.status }).toEqual({ path, body, status });
      expect(response.json.message).toMatch(message);
    }
    const after = await api(server.url, 'GET', '/api/v1/endpoints/flights-delay');
    expect(after.json.revision).toBe(before.json.revision);
  });

  it('rolls back to the previous stable version in one call, under a second', async () => {
    await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/deploy', {
      model: 'flights/1',
      policy: 'blue-green',
    });
    const started = Date.now();
    const rolled = await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/rollback', {});
    const tookMs = Date.now() - started;
    expect(rolled.json).toMatchObject({ stable_version: '2', policy: { kind: 'direct', version: '2' } });
    // In effect when the call returns: the very next request is answered by the restored version.
    const next = await api(server.url, 'POST', '/v2/models/flights-delay/infer', {
      inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [0, 0, 0, 0, 0, 0, 0, 0] }],
    });
    expect(next.json.model_version).toBe('2');
    console.log(`rollback took ${tookMs} ms`);
  });

  it('waits for approval after a passed step when asked to, and goes on when resumed', async () => {
    const load = steadyLoad(server.url, 'flights-delay');
    await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/deploy', {
      model: 'flights/1',
      policy: 'canary',
      steps: [50, 100],
      interval_ms: 500,
      checks,
      approval: true,
    });
    const waiting = await waitFor(
      () => api(server.url, 'GET', '/api/v1/endpoints/flights-delay'),
      (r) => r.json.rollout?.awaiting_approval === true,
      'the approval wait',
      20_000,
    );
    expect(waiting.json.rollout).toMatchObject({ state: 'paused', current_step: 0 });
    // Paused means the controller leaves it alone, however long it waits.
    await new Promise((r) => setTimeout(r, 800));
    expect((await api(server.url, 'GET', '/api/v1/endpoints/flights-delay')).json.rollout).toMatchObject({
      state: 'paused',
    });
    const resumed = await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/rollout/resume', {});
    const traffic = await load.stop();
    expect(resumed.json).toMatchObject({ stable_version: '1', rollout: { state: 'promoted' } });
    expect(traffic.failedGood).toEqual([]);
    const kinds = (
      (await api(server.url, 'GET', '/api/v1/endpoints/flights-delay/history')).json.events as {
        kind: string;
      }[]
    ).map((e) => e.kind);
    expect(kinds.slice(-3)).toEqual(['canary', 'awaiting-approval', 'promote']);
  });

  it('resumes a rollout at the same step after the server is killed and restarted', async () => {
    await api(server.url, 'POST', '/api/v1/endpoints/flights-delay/deploy', {
      model: 'flights/2',
      policy: 'canary',
      steps: [10, 50, 100],
      interval_ms: 1500,
      checks,
    });
    const load = steadyLoad(server.url, 'flights-delay');
    const atStep = await waitFor(
      () => api(server.url, 'GET', '/api/v1/endpoints/flights-delay'),
      (r) => r.json.rollout?.current_step === 1,
      'step 2',
      20_000,
    );
    await load.stop();
    await server.close();
    server = await startServer(dataDir);
    const resumed = await api(server.url, 'GET', '/api/v1/endpoints/flights-delay');
    expect(resumed.json.rollout).toMatchObject({
      state: 'running',
      current_step: 1,
      id: atStep.json.rollout?.id,
    });
    expect(resumed.json.policy).toEqual(atStep.json.policy);
    const load2 = steadyLoad(server.url, 'flights-delay');
    const done = await waitFor(
      () => api(server.url, 'GET', '/api/v1/endpoints/flights-delay'),
      (r) => r.json.rollout?.state !== 'running',
      'the rollout to end',
      20_000,
    );
    const traffic = await load2.stop();
    expect(done.json.rollout?.state).toBe('promoted');
    expect(traffic.failedGood).toEqual([]);
  });
});

describe('endpoint versions in memory', () => {
  it('unloads versions no endpoint routes to any more, after a grace period', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-release-'));
    const server = await startServer(dataDir);
    try {
      await registerFixture(server, 'm', 'wide-linear.onnx');
      await registerFixture(server, 'm', 'wide-linear.onnx');
      await registerFixture(server, 'm', 'wide-linear.onnx');
      await api(server.url, 'POST', '/api/v1/endpoints/e/deploy', { model: 'm/1' });
      await api(server.url, 'POST', '/api/v1/endpoints/e/deploy', { model: 'm/2', policy: 'blue-green' });
      await api(server.url, 'POST', '/api/v1/endpoints/e/deploy', { model: 'm/3', policy: 'blue-green' });
      const loaded = () =>
        server.slipway.services.serving
          .list()
          .map((m) => m.version)
          .sort();
      expect(loaded()).toEqual(['1', '2', '3']);
      // Version 2 stays warm as the rollback target; version 1 is released.
      await waitFor(
        async () => loaded(),
        (versions) => versions.length === 2,
        'both versions loaded',
        15_000,
      );
      expect(loaded()).toEqual(['2', '3']);
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('serving replicas of an endpoint', () => {
  it('route by the policy in the database and pick up a change made on the control plane', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-replica-'));
    const control = await startServer(dataDir);
    const replica = await createSlipway(resolveServerConfig({ dataDir, logLevel: 'silent' }), {
      mode: 'serve',
      endpoints: ['e'],
      logger: false,
      payloadLog: false,
      controllerTickMs: 100,
    });
    try {
      await registerFixture(control, 'm', 'wide-linear.onnx');
      await registerFixture(control, 'm', 'wide-linear.onnx');
      await registerFixture(control, 'm', 'wide-linear.onnx');
      await api(control.url, 'POST', '/api/v1/endpoints/e/deploy', { model: 'm/1' });
      await api(control.url, 'POST', '/api/v1/endpoints/other/deploy', { model: 'm/3' });
      const replicaUrl = await replica.app.listen({ host: '127.0.0.1', port: 0 });
      const body = JSON.stringify({
        inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [0, 0, 0, 0, 0, 0, 0, 0] }],
      });
      const versionAt = async (endpoint: string) => {
        const response = await fetch(`${replicaUrl}/v2/models/${endpoint}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await response.arrayBuffer();
        return response.status === 200
          ? response.headers.get('x-slipway-model-version')
          : `status ${response.status}`;
      };
      await waitFor(
        () => versionAt('e'),
        (v) => v === '1',
        'version 1 on the replica',
        10_000,
      );
      await api(control.url, 'POST', '/api/v1/endpoints/e/deploy', { model: 'm/2', policy: 'blue-green' });
      const started = Date.now();
      await waitFor(
        () => versionAt('e'),
        (v) => v === '2',
        'version 2 on the replica',
        10_000,
      );
      console.log(`replica switched ${Date.now() - started} ms after the control plane's deploy`);
      // Endpoints the replica was not started for are not served there.
      expect(await versionAt('other')).toBe('status 404');
      // A replica has no control-plane API.
      expect((await fetch(`${replicaUrl}/api/v1/endpoints`)).status).toBe(404);
    } finally {
      await replica.close();
      await control.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
