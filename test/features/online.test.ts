import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/core/config.js';
import { type Definitions, loadDefinitionsFile } from '../../src/features/index.js';
import { createClient, type SlipwayClient } from '../../src/sdk/index.js';
import { createSlipway, type Slipway } from '../../src/server.js';
import { ElementType, encodeModel, node, tensorValue } from '../support/onnx-builder.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';
import { type RedisServer, redisAvailable, startRedis } from '../support/redis.js';
import { api } from '../support/slipway.js';
import { writeFlightsFixture } from './flights-fixture.js';

interface FeatureServer {
  url: string;
  client: SlipwayClient;
  slipway: Slipway;
  /** The server's clock: online reads measure TTL against it. */
  setNow(iso: string): void;
  close(): Promise<void>;
}

/** A server with a settable clock, on a temp data dir, with the online store given (default: embedded). */
async function startFeatureServer(onlineStore?: string, db?: string): Promise<FeatureServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-features-'));
  let nowMs = Date.parse('2001-01-01T00:00:00Z');
  const slipway = await createSlipway(
    resolveServerConfig({
      dataDir,
      logLevel: 'silent',
      ...(onlineStore !== undefined && { onlineStore }),
      ...(db !== undefined && { db }),
    }),
    { logger: false, payloadLog: false, clock: { nowMs: () => nowMs } },
  );
  const url = await slipway.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    slipway,
    client: createClient({ baseUrl: url }),
    setNow: (iso) => {
      nowMs = Date.parse(iso);
    },
    async close() {
      await slipway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let fixtureDir: string;
let definitions: Definitions;

beforeAll(async () => {
  fixtureDir = await mkdtemp(join(tmpdir(), 'slipway-online-'));
  const fixture = await writeFlightsFixture(fixtureDir);
  definitions = await loadDefinitionsFile(fixture.yamlPath);
});
afterAll(async () => {
  await rm(fixtureDir, { recursive: true, force: true });
});

const T = '2001-02-10T15:30:00Z';
/** Materialization's end is exclusive; a value stamped exactly at T belongs to T, as in historical retrieval. */
const justAfter = (iso: string) => new Date(Date.parse(iso) + 1).toISOString();

/** Online reads at time `at` equal historical retrieval at `at` for the same entities (and transforms). */
async function expectOnlineEqualsHistorical(server: FeatureServer, at: string, origins: string[]) {
  const features = [
    'o1d:avg_delay_1d',
    'o1d:flights_1d',
    'o7d:avg_delay_7d',
    'o2h:avg_delay_1d',
    'signals:ratio',
  ];
  const distances = origins.map((_, i) => 300 + 250 * i);
  server.setNow(at);
  const online = await server.client.getOnlineFeatures({
    features,
    entities: { origin: origins, distance: distances },
    fullFeatureNames: true,
  });
  const offline = await server.client.historicalFeatures({
    features,
    full_feature_names: true,
    entity_rows: origins.map((origin, i) => ({ origin, distance: distances[i], event_timestamp: at })),
  });
  const names = online.metadata.feature_names;
  expect(names).toEqual([
    'origin',
    'o1d__avg_delay_1d',
    'o1d__flights_1d',
    'o7d__avg_delay_7d',
    'o2h__avg_delay_1d',
    'signals__ratio',
  ]);
  let present = 0;
  origins.forEach((_, row) => {
    for (let c = 1; c < names.length; c++) {
      const column = online.results[c];
      const onlineValue = column?.statuses[row] === 'PRESENT' ? column.values[row] : null;
      if (onlineValue !== null) present++;
      expect(onlineValue, `${origins[row]} ${names[c]} at ${at}`).toEqual(
        offline.rows?.[row]?.[names[c] as string],
      );
    }
  });
  return present;
}

describe('online features (embedded store)', () => {
  let server: FeatureServer;
  beforeAll(async () => {
    server = await startFeatureServer();
    await server.client.applyFeatures(definitions);
  });
  afterAll(async () => server?.close());

  it("answers Feast's column-major shape with PRESENT, NOT_FOUND and OUTSIDE_MAX_AGE", async () => {
    const materialized = await server.client.materializeFeatures({
      start: '2001-01-01T00:00:00Z',
      end: justAfter(T),
    });
    expect(materialized.results.map((r) => r.view).sort()).toEqual(['dest', 'o1d', 'o2h', 'o7d']);
    expect(materialized.results.find((r) => r.view === 'o1d')?.rows).toBe(4);
    server.setNow(T);
    const response = await api(server.url, 'POST', '/get-online-features', {
      features: ['o1d:avg_delay_1d', 'o2h:avg_delay_1d'],
      entities: { origin: ['SEA', 'XXX'] },
      full_feature_names: true,
    });
    expect(response.status).toBe(200);
    const body = response.json as unknown as {
      metadata: { feature_names: string[] };
      results: { values: unknown[]; statuses: string[]; event_timestamps: string[] }[];
    };
    expect(body.metadata.feature_names).toEqual(['origin', 'o1d__avg_delay_1d', 'o2h__avg_delay_1d']);
    expect(body.results[0]).toEqual({
      values: ['SEA', 'XXX'],
      statuses: ['PRESENT', 'PRESENT'],
      event_timestamps: ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'],
    });
    expect(body.results[1]?.statuses).toEqual(['PRESENT', 'NOT_FOUND']);
    expect(typeof body.results[1]?.values[0]).toBe('number');
    expect(body.results[1]?.values[1]).toBeNull();
    expect(body.results[1]?.event_timestamps[0]).toBe('2001-02-10T15:00:00Z');

    // Three hours later the 2 h view has expired; the 1 d view has not. Expired values never come back PRESENT.
    server.setNow('2001-02-10T18:30:00Z');
    const later = await server.client.getOnlineFeatures({
      features: ['o1d:avg_delay_1d', 'o2h:avg_delay_1d'],
      entities: { origin: ['SEA'] },
      fullFeatureNames: true,
    });
    expect(later.results[1]?.statuses).toEqual(['PRESENT']);
    expect(later.results[2]).toMatchObject({ statuses: ['OUTSIDE_MAX_AGE'], values: [null] });
  });

  it('gives training and serving the same values at the same timestamp, transforms included', async () => {
    const origins = ['SEA', 'PDX', 'SJC', 'OAK'];
    let present = 0;
    // Walk forward in time: each step materializes incrementally up to the instant, then compares.
    for (const at of [
      '2001-02-10T15:30:00Z',
      '2001-02-11T04:10:00Z',
      '2001-02-14T09:00:00Z',
      '2001-02-20T23:59:00Z',
    ]) {
      const step = await server.client.materializeFeaturesIncremental({ end: justAfter(at) });
      // Starts where the last interval ended (a step to the same instant has nothing left to load).
      expect(step.results.every((r) => r.start_ms <= Date.parse(at) + 1)).toBe(true);
      present += await expectOnlineEqualsHistorical(server, at, origins);
    }
    expect(present).toBeGreaterThan(40);
  });

  it('continues materialization from the last end', async () => {
    const history = await api(server.url, 'GET', '/api/v1/features/materializations?view=o1d');
    const intervals = (history.json.materializations as { start_ms: number; end_ms: number }[]).reverse();
    for (let i = 1; i < intervals.length; i++) expect(intervals[i]?.start_ms).toBe(intervals[i - 1]?.end_ms);
    // The first full run, then one interval per later step (the first step reached no further).
    expect(intervals.length).toBe(4);
  });

  it('takes pushed values, and never lets an older push replace a newer value', async () => {
    server.setNow('2001-02-21T00:30:00Z');
    const pushed = await server.client.pushFeatures('o2h', {
      origin: ['SEA'],
      event_timestamp: ['2001-02-21T00:15:00Z'],
      avg_delay_1d: [42.5],
    });
    expect(pushed).toEqual({ rows: 1, written: 1 });
    const stale = await server.client.pushFeatures('o2h', {
      origin: ['SEA'],
      event_timestamp: ['2001-02-20T00:00:00Z'],
      avg_delay_1d: [-1],
    });
    expect(stale.written).toBe(0);
    const read = await server.client.getOnlineFeatures({
      features: ['o2h:avg_delay_1d'],
      entities: { origin: ['SEA'] },
    });
    expect(read.results[1]).toEqual({
      values: [42.5],
      statuses: ['PRESENT'],
      event_timestamps: ['2001-02-21T00:15:00Z'],
    });
  });

  it('answers each request shape with its own names and order when shapes alternate', async () => {
    server.setNow('2001-02-21T00:30:00Z');
    const ask = (features: string[], full: boolean) =>
      server.client.getOnlineFeatures({ features, entities: { origin: ['SEA'] }, fullFeatureNames: full });
    const forward = ['o1d:avg_delay_1d', 'o1d:flights_1d'];
    const backward = [...forward].reverse();
    for (let round = 0; round < 2; round++) {
      const a = await ask(forward, false);
      const b = await ask(backward, false);
      const c = await ask(forward, true);
      expect(a.metadata.feature_names).toEqual(['origin', 'avg_delay_1d', 'flights_1d']);
      expect(b.metadata.feature_names).toEqual(['origin', 'flights_1d', 'avg_delay_1d']);
      expect(c.metadata.feature_names).toEqual(['origin', 'o1d__avg_delay_1d', 'o1d__flights_1d']);
      expect(b.results[1]?.values).toEqual(a.results[2]?.values);
      expect(b.results[2]?.values).toEqual(a.results[1]?.values);
      expect(c.results.map((r) => r.values)).toEqual(a.results.map((r) => r.values));
    }
  });

  it('times each answered online request in a Prometheus histogram by store', async () => {
    const count = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const match = /^slipway_online_features_request_duration_seconds_count\{store="sqlite"\} (\d+)$/m.exec(
        text,
      );
      return match === null ? 0 : Number(match[1]);
    };
    const before = await count();
    for (let i = 0; i < 3; i++) {
      const ok = await api(server.url, 'POST', '/get-online-features', {
        features: ['o1d:avg_delay_1d'],
        entities: { origin: ['SEA'] },
      });
      expect(ok.status).toBe(200);
    }
    const refused = await api(server.url, 'POST', '/get-online-features', {
      features: ['o1d:avg_delay_1d'],
      entities: { origin: [17] },
    });
    expect(refused.status).toBe(400);
    expect(await count()).toBe(before + 3);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(
      /^slipway_online_features_request_duration_seconds_bucket\{le="0.0001",store="sqlite"\} \d+$/m,
    );
  });

  it('answers clear 4xx errors for unknown features, missing keys and wrong key types', async () => {
    const ask = (body: unknown) => api(server.url, 'POST', '/get-online-features', body);
    const cases: [unknown, number, RegExp][] = [
      [{ features: ['nope:x'], entities: { origin: ['SEA'] } }, 404, /no feature view 'nope'/],
      [
        { features: ['o1d:p99'], entities: { origin: ['SEA'] } },
        404,
        /has no field 'p99' \(fields: avg_delay_1d, flights_1d\)/,
      ],
      [
        { feature_service: 'nope', entities: { origin: ['SEA'] } },
        404,
        /feature_service 'nope' does not exist/,
      ],
      [{ features: ['o1d:avg_delay_1d'], entities: { airport: ['SEA'] } }, 400, /missing join key 'origin'/],
      [
        { features: ['o1d:avg_delay_1d'], entities: { origin: [17] } },
        400,
        /entities\.origin\[0\]: expected a string .* got 17/,
      ],
      [{ features: ['o1d:avg_delay_1d'], entities: { origin: 'SEA' } }, 400, /entities\.origin/],
      [
        { features: ['o1d:avg_delay_1d'], entities: { origin: ['SEA'], distance: [1, 2] } },
        400,
        /expected 1 values/,
      ],
      [
        { features: ['signals:ratio'], entities: { origin: ['SEA'] } },
        400,
        /missing request field 'distance'/,
      ],
      [{ entities: { origin: ['SEA'] } }, 400, /expected 'features'/],
      [
        { features: ['o1d:avg_delay_1d'], entities: {} },
        400,
        /missing join key 'origin'|at least one entity row/,
      ],
    ];
    for (const [body, status, message] of cases) {
      const response = await ask(body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.json.message, JSON.stringify(body)).toMatch(message);
    }
    const push = await api(server.url, 'POST', '/push', { push_source_name: 'o1d', df: { origin: ['SEA'] } });
    expect(push.status).toBe(400);
    expect(push.json.message).toMatch(/missing timestamp column 'event_timestamp'/);
  });

  it('shows a diff and refuses destructive changes without force', async () => {
    const narrowed = structuredClone(definitions);
    const view = narrowed.feature_views.find((v) => v.name === 'o1d');
    if (view === undefined) throw new Error('fixture has no o1d');
    view.fields = view.fields.filter((f) => f.name !== 'flights_1d');
    const dry = await server.client.applyFeatures(narrowed, { dryRun: true });
    expect(dry.applied).toBe(false);
    expect(dry.changes).toEqual([
      { kind: 'feature_view', name: 'o1d', change: 'changed', destructive: true, details: ['fields'] },
    ]);
    const refused = await api(server.url, 'POST', '/api/v1/features/apply', { definitions: narrowed });
    expect(refused.status).toBe(400);
    expect(refused.json.error_code).toBe('INVALID_STATE');
    expect(refused.json.message).toMatch(
      /refusing destructive changes without force: feature_view 'o1d' changed/,
    );
    const forced = await server.client.applyFeatures(narrowed, { force: true });
    expect(forced).toMatchObject({ applied: true, version: 2 });
    const versions = await api(server.url, 'GET', '/api/v1/features/versions');
    expect((versions.json.versions as { version: number }[]).map((v) => v.version)).toEqual([2, 1]);
    const again = await server.client.applyFeatures(definitions);
    expect(again).toMatchObject({ applied: true, version: 3 });
  });
});

describe('endpoint enrichment', () => {
  let server: FeatureServer;
  beforeAll(async () => {
    server = await startFeatureServer();
    await server.client.applyFeatures(definitions);
    await server.client.materializeFeatures({ start: '2001-01-01T00:00:00Z', end: justAfter(T) });
    server.setNow(T);
    // y = avg_delay_1d + ratio: a model whose inputs are named after features of the 'delay_model' service.
    const { FLOAT } = ElementType;
    const model = encodeModel({
      name: 'delay-sum',
      nodes: [node('Add', ['avg_delay_1d', 'ratio'], ['y'])],
      inputs: [tensorValue('avg_delay_1d', FLOAT, ['N', 1]), tensorValue('ratio', FLOAT, ['N', 1])],
      outputs: [tensorValue('y', FLOAT, ['N', 1])],
      opsets: { '': 13 },
    });
    const experimentId = await server.client.createExperiment('enrichment');
    const run = await server.client.createRun({ experimentId });
    const root = await server.slipway.services.tracking.artifactRootOf(run.info.run_id);
    await server.slipway.services.blobs.put(`${root}/model/model.onnx`, model);
    await server.client.createRegisteredModel('delay-sum');
    await server.client.createModelVersion({
      name: 'delay-sum',
      source: `runs:/${run.info.run_id}/model`,
      runId: run.info.run_id,
    });
    const deployed = await api(server.url, 'POST', '/api/v1/endpoints/delays/deploy', {
      model: 'delay-sum/1',
    });
    expect(deployed.status, JSON.stringify(deployed.json)).toBe(200);
  });
  afterAll(async () => server?.close());

  it('looks up features and runs transforms for a request carrying only the entity key', async () => {
    const bind = await api(server.url, 'PUT', '/api/v1/features/endpoint-bindings/delays', {
      feature_service: 'delay_model',
    });
    expect(bind.status).toBe(200);
    const expected = await server.client.getOnlineFeatures({
      featureService: 'delay_model',
      entities: { origin: ['SEA', 'PDX'], distance: [679, 129] },
    });
    const column = (name: string) =>
      expected.results[expected.metadata.feature_names.indexOf(name)]?.values as number[];
    const sums = [0, 1].map((i) =>
      Math.fround((column('avg_delay_1d')[i] as number) + (column('ratio')[i] as number)),
    );

    const v2 = await api(server.url, 'POST', '/v2/models/delays/infer', {
      inputs: [
        { name: 'origin', shape: [2], datatype: 'BYTES', data: ['SEA', 'PDX'] },
        { name: 'distance', shape: [2], datatype: 'INT64', data: [679, 129] },
      ],
    });
    expect(v2.status, JSON.stringify(v2.json)).toBe(200);
    const outputs = v2.json.outputs as { name: string; data: number[] }[];
    expect(outputs[0]?.data[0]).toBeCloseTo(sums[0] as number, 3);
    expect(outputs[0]?.data[1]).toBeCloseTo(sums[1] as number, 3);

    const mlflow = await api(server.url, 'POST', '/endpoints/delays/invocations', {
      dataframe_records: [{ origin: 'SEA', distance: 679 }],
    });
    expect(mlflow.status, JSON.stringify(mlflow.json)).toBe(200);
    expect((mlflow.json.predictions as number[])[0]).toBeCloseTo(sums[0] as number, 3);
  });

  it('reads the entity key from a differently named input when the binding says so', async () => {
    await server.client.bindEndpointFeatures('delays', 'delay_model', { origin: 'airport' });
    const renamed = await api(server.url, 'POST', '/v2/models/delays/infer', {
      inputs: [
        { name: 'airport', shape: [1], datatype: 'BYTES', data: ['SEA'] },
        { name: 'distance', shape: [1], datatype: 'INT64', data: [679] },
      ],
    });
    expect(renamed.status, JSON.stringify(renamed.json)).toBe(200);
    const direct = await server.client.getOnlineFeatures({
      features: ['o1d:avg_delay_1d', 'signals:ratio'],
      entities: { origin: ['SEA'], distance: [679] },
    });
    const expected = Math.fround(
      (direct.results[1]?.values[0] as number) + (direct.results[2]?.values[0] as number),
    );
    expect((renamed.json.outputs as { data: number[] }[])[0]?.data[0]).toBeCloseTo(expected, 3);
  });

  it('passes a missing feature to the model as missing (NaN), and stops enriching once unbound', async () => {
    await server.client.bindEndpointFeatures('delays', 'delay_model');
    // One unknown airport among known ones: its float features reach the model as NaN, which models read as
    // missing (trees route it, this sum propagates it); the known row is unaffected.
    const missing = await api(server.url, 'POST', '/v2/models/delays/infer', {
      inputs: [
        { name: 'origin', shape: [2], datatype: 'BYTES', data: ['XXX', 'SEA'] },
        { name: 'distance', shape: [2], datatype: 'INT64', data: [100, 679] },
      ],
    });
    expect(missing.status, JSON.stringify(missing.json)).toBe(200);
    const data = (missing.json.outputs as { data: (number | null)[] }[])[0]?.data;
    expect(data?.[0]).toBeNull();
    expect(typeof data?.[1]).toBe('number');
    await server.client.unbindEndpointFeatures('delays');
    const plain = await api(server.url, 'POST', '/v2/models/delays/infer', {
      inputs: [{ name: 'origin', shape: [1], datatype: 'BYTES', data: ['SEA'] }],
    });
    expect(plain.status).toBe(400);
    expect(plain.json.error).toMatch(/unexpected input 'origin'/);
  });
});

describe.skipIf(!redisAvailable)('online features (Redis store)', () => {
  let redis: RedisServer;
  let server: FeatureServer;
  beforeAll(async () => {
    redis = await startRedis();
    server = await startFeatureServer(redis.url);
    await server.client.applyFeatures(definitions);
  });
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('materializes into Redis and reads back what training sees, TTL enforced', async () => {
    const result = await server.client.materializeFeatures({
      start: '2001-01-01T00:00:00Z',
      end: justAfter(T),
    });
    expect(result.results.every((r) => r.written === r.rows && r.rows > 0)).toBe(true);
    const present = await expectOnlineEqualsHistorical(server, T, ['SEA', 'PDX', 'SJC', 'OAK', 'XXX']);
    expect(present).toBeGreaterThan(10);
    server.setNow('2001-02-10T18:30:00Z');
    const later = await server.client.getOnlineFeatures({
      features: ['o2h:avg_delay_1d'],
      entities: { origin: ['SEA'] },
    });
    expect(later.results[1]).toMatchObject({ statuses: ['OUTSIDE_MAX_AGE'], values: [null] });
  });
});

describe.skipIf(!postgresAvailable)('feature registry on PostgreSQL', () => {
  let postgres: PostgresServer;
  let server: FeatureServer;
  beforeAll(async () => {
    postgres = await startPostgres();
    server = await startFeatureServer(undefined, postgres.url);
  });
  afterAll(async () => {
    await server?.close();
    await postgres?.stop();
  });

  it('applies, materializes incrementally and binds endpoints with the same results', async () => {
    expect((await server.client.applyFeatures(definitions)).version).toBe(1);
    await server.client.materializeFeatures({ start: '2001-01-01T00:00:00Z', end: '2001-02-01T00:00:00Z' });
    const step = await server.client.materializeFeaturesIncremental({ end: justAfter(T) });
    expect(step.results.every((r) => r.start_ms === Date.parse('2001-02-01T00:00:00Z'))).toBe(true);
    expect(await expectOnlineEqualsHistorical(server, T, ['SEA', 'PDX'])).toBeGreaterThan(5);
    await server.client.bindEndpointFeatures('delays', 'delay_model', { origin: 'airport' });
    expect(await server.client.listFeatureBindings()).toMatchObject([
      { endpoint: 'delays', feature_service: 'delay_model', entity_inputs: { origin: 'airport' } },
    ]);
  });
});
