import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/core/config.js';
import { createSlipway } from '../../src/server.js';
import { expectClose, fixturesDir as fixtures, registerFixture } from '../support/models.js';
import { startTestServer, type TestServer } from '../support/slipway.js';

interface Reference {
  inputs: number[][];
  predictions: number[];
}

const post = async (base: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: JSON.parse(text) as Record<string, unknown> & { error?: string },
  };
};

describe('serving over the Open Inference Protocol and /invocations', () => {
  let server: TestServer;
  let reference: Reference;
  const v2Body = (rows: number[][]) => ({
    inputs: [{ name: 'x', shape: [rows.length, 8], datatype: 'FP32', data: rows.flat() }],
  });

  beforeAll(async () => {
    server = await startTestServer();
    reference = JSON.parse(await readFile(join(fixtures, 'gbt100-reference.json'), 'utf8')) as Reference;
    await registerFixture(server, 'gbt', 'gbt100.onnx');
    await registerFixture(server, 'gbt', 'gbt100.onnx');
    await server.client.setAlias('gbt', 'champion', '1');
    const loaded = await post(server.url, '/v2/repository/models/gbt/load', {
      parameters: { alias: 'champion' },
    });
    expect(loaded.json).toEqual({ name: 'gbt', version: '1', state: 'READY' });
  });
  afterAll(async () => server?.close());

  it('answers server and model metadata and readiness', async () => {
    expect(await (await fetch(`${server.url}/v2`)).json()).toMatchObject({
      name: 'slipway',
      extensions: ['model_repository'],
    });
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/v2/models/gbt`)).json()).toEqual({
      name: 'gbt',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }],
      outputs: [{ name: 'variable', datatype: 'FP32', shape: [-1, 1] }],
    });
    expect((await fetch(`${server.url}/v2/models/gbt/versions/1/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/models/nope/ready`)).status).toBe(404);
  });

  it('predicts what scikit-learn predicts, to 1e-5, for single rows, a batch and concurrent callers', async () => {
    const batch = await post(server.url, '/v2/models/gbt/infer', {
      id: 'req-1',
      ...v2Body(reference.inputs),
    });
    expect(batch.status).toBe(200);
    expect(batch.json).toMatchObject({ model_name: 'gbt', model_version: '1', id: 'req-1' });
    expect(batch.headers.get('x-slipway-model-version')).toBe('1');
    const outputs = batch.json.outputs as { name: string; shape: number[]; data: number[] }[];
    expect(outputs[0]?.shape).toEqual([reference.inputs.length, 1]);
    expectClose(outputs[0]?.data ?? [], reference.predictions, 1e-5);

    // Concurrent single-row requests are batched together and each caller gets its own row back.
    const singles = await Promise.all(
      reference.inputs.slice(0, 64).map((row) => post(server.url, '/v2/models/gbt/infer', v2Body([row]))),
    );
    singles.forEach((response, i) => {
      const data = (response.json.outputs as { data: number[] }[])[0]?.data ?? [];
      expect(Math.abs((data[0] as number) - (reference.predictions[i] as number))).toBeLessThan(1e-5);
    });

    // Nested data is accepted as well as flat.
    const nested = await post(server.url, '/v2/models/gbt/infer', {
      inputs: [{ name: 'x', shape: [2, 8], datatype: 'FP32', data: reference.inputs.slice(0, 2) }],
      outputs: [{ name: 'variable' }],
    });
    expect((nested.json.outputs as { data: number[] }[])[0]?.data).toHaveLength(2);
  });

  it('serves MLflow /invocations formats from a standalone serving process on the same store', async () => {
    const serve = await createSlipway(resolveServerConfig({ dataDir: server.dataDir, logLevel: 'silent' }), {
      mode: 'serve',
      defaultModel: 'gbt@champion',
      logger: false,
      payloadLog: false,
    });
    const url = await serve.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect((await fetch(`${url}/ping`)).status).toBe(200);
      const rows = reference.inputs.slice(0, 3);
      const expected = reference.predictions.slice(0, 3);
      const columns = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
      const bodies = [
        { dataframe_split: { columns, data: rows } },
        { dataframe_records: rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]]))) },
        { instances: rows },
        { inputs: { x: rows } },
        { inputs: rows },
      ];
      for (const body of bodies) {
        const response = await post(url, '/invocations', body);
        expect(response.status, JSON.stringify(body).slice(0, 40)).toBe(200);
        const predictions = response.json.predictions as number[];
        expectClose(predictions, expected, 1e-5);
      }
      const bad = await post(url, '/invocations', { dataframe_split: { columns: ['a'], data: [[1]] } });
      expect(bad.status).toBe(400);
      expect((bad.json as { error_code?: string; message?: string }).message).toMatch(/8|columns/);
      const neither = await post(url, '/invocations', { rows: [] });
      expect(neither.status).toBe(400);
      expect((neither.json as { message?: string }).message).toMatch(/dataframe_split/);
      // The serving process has no control-plane routes.
      expect((await fetch(`${url}/api/2.0/mlflow/experiments/search`)).status).toBe(404);
    } finally {
      await serve.close();
    }
  });

  it('answers every malformed request with a 4xx naming the problem, and keeps serving', async () => {
    const cases: [unknown, number, RegExp][] = [
      ['{"inputs": [', 400, /JSON/i],
      [
        { inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP64', data: [1, 2, 3, 4, 5, 6, 7, 8] }] },
        400,
        /input 'x': expected datatype FP32, got FP64/,
      ],
      [
        { inputs: [{ name: 'x', shape: [1, 7], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7] }] },
        400,
        /expected dimension 1 to be 8/,
      ],
      [
        { inputs: [{ name: 'x', shape: [2, 8], datatype: 'FP32', data: [1, 2, 3] }] },
        400,
        /needs 16 elements, got 3/,
      ],
      [
        { inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 'a'] }] },
        400,
        /element 7 must be a finite number/,
      ],
      [
        { inputs: [{ name: 'y', shape: [1, 8], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8] }] },
        400,
        /unexpected input 'y'.*'x'/,
      ],
      [{ inputs: [] }, 400, /at least one input/],
      [{}, 400, /inputs/],
      [
        { inputs: [{ name: 'x', shape: [8], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8] }] },
        400,
        /rank 2/,
      ],
      [{ ...v2Body([[1, 2, 3, 4, 5, 6, 7, 8]]), outputs: [{ name: 'nope' }] }, 400, /unknown output 'nope'/],
      [{ ...v2Body([[1, 2, 3, 4, 5, 6, 7, 8]]), parameters: { timeout: 'soon' } }, 400, /timeout/],
    ];
    for (const [body, status, message] of cases) {
      const response = await post(server.url, '/v2/models/gbt/infer', body);
      expect({ body, status: response.status }).toEqual({ body, status });
      expect(response.json.error).toMatch(message);
    }
    const unknown = await post(server.url, '/v2/models/ghost/infer', v2Body([[1, 2, 3, 4, 5, 6, 7, 8]]));
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/ghost/);
    const huge = await post(
      server.url,
      '/v2/models/gbt/infer',
      `{"inputs":[{"name":"x","shape":[1,8],"datatype":"FP32","data":[${'1,'.repeat(9_000_000)}1]}]}`,
    );
    expect(huge.status).toBe(413);
    const ok = await post(server.url, '/v2/models/gbt/infer', v2Body([reference.inputs[0] as number[]]));
    expect(ok.status).toBe(200);
  });

  it('swaps to a new version under load without failing a request', async () => {
    let stop = false;
    const seen = new Set<string>();
    let failures = 0;
    let count = 0;
    const client = async () => {
      while (!stop) {
        const response = await post(
          server.url,
          '/v2/models/gbt/infer',
          v2Body([reference.inputs[count % 200] as number[]]),
        );
        count++;
        if (response.status !== 200) failures++;
        else seen.add(String(response.json.model_version));
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((r) => setTimeout(r, 300));
    await server.client.setAlias('gbt', 'champion', '2');
    const swapped = await post(server.url, '/v2/repository/models/gbt/load', {
      parameters: { alias: 'champion' },
    });
    expect(swapped.json).toMatchObject({ version: '2' });
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    expect(failures).toBe(0);
    expect(count).toBeGreaterThan(50);
    expect([...seen].sort()).toEqual(['1', '2']);
    const index = await post(server.url, '/v2/repository/index', {});
    expect(index.json).toEqual([{ name: 'gbt', version: '2', state: 'READY', reason: '' }]);
  });

  it('keeps the old version serving when a load fails', async () => {
    const failed = await post(server.url, '/v2/repository/models/gbt/load', { parameters: { version: 99 } });
    expect(failed.status).toBe(404);
    const still = await post(server.url, '/v2/models/gbt/infer', v2Body([reference.inputs[0] as number[]]));
    expect(still.status).toBe(200);
  });

  it('refuses to load a ZipMap model with advice to export without it', async () => {
    await registerFixture(server, 'zipmap', 'logreg-zipmap.onnx');
    const response = await post(server.url, '/v2/repository/models/zipmap/load', {});
    expect(response.status).toBe(400);
    expect(response.json.error).toMatch(/without ZipMap/);
  });

  it('exports Prometheus metrics per model and version, and logs payloads', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/slipway_inference_requests_total\{model="gbt",version="1",outcome="ok"\} \d+/);
    expect(text).toMatch(
      /slipway_inference_requests_total\{model="gbt",version="1",outcome="bad_request"\} \d+/,
    );
    expect(text).toMatch(
      /slipway_inference_request_duration_seconds_bucket\{le="0.005",model="gbt",version="1"\}/,
    );
    expect(text).toMatch(/slipway_inference_batch_size_rows_bucket/);
    expect(text).toMatch(/slipway_models_loaded 1/);
    await new Promise((r) => setTimeout(r, 1200));
    const after = await (await fetch(`${server.url}/metrics`)).text();
    const logged = Number(/slipway_payload_log_records_total (\d+)/.exec(after)?.[1] ?? 0);
    expect(logged).toBeGreaterThan(100);
  });
});

describe('serving string (BYTES) and integer tensors', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await registerFixture(server, 'cat', 'categorical.onnx');
    await server.slipway.services.serving.load('cat');
  });
  afterAll(async () => server?.close());

  it('takes categorical strings and returns int64 codes as JSON numbers', async () => {
    const response = await post(server.url, '/v2/models/cat/infer', {
      inputs: [
        { name: 'city', shape: [3, 1], datatype: 'BYTES', data: ['SFO', 'JFK', 'LHR'] },
        { name: 'amount', shape: [3, 1], datatype: 'FP32', data: [1, 2.5, 4] },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.json.outputs).toEqual([
      { name: 'code', datatype: 'INT64', shape: [3, 1], data: [1, 2, -1] },
      { name: 'total', datatype: 'FP32', shape: [3, 1], data: [2, 5, 8] },
    ]);
  });

  it('names the input and the element when types are wrong', async () => {
    const numberForString = await post(server.url, '/v2/models/cat/infer', {
      inputs: [
        { name: 'city', shape: [1, 1], datatype: 'BYTES', data: [42] },
        { name: 'amount', shape: [1, 1], datatype: 'FP32', data: [1] },
      ],
    });
    expect(numberForString.status).toBe(400);
    expect(numberForString.json.error).toBe("input 'city': element 0 must be a string for BYTES, got 42");
    const missing = await post(server.url, '/v2/models/cat/infer', {
      inputs: [{ name: 'city', shape: [1, 1], datatype: 'BYTES', data: ['SEA'] }],
    });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toBe("missing input 'amount'");
    const rows = await post(server.url, '/v2/models/cat/infer', {
      inputs: [
        { name: 'city', shape: [2, 1], datatype: 'BYTES', data: ['SEA', 'SFO'] },
        { name: 'amount', shape: [1, 1], datatype: 'FP32', data: [1] },
      ],
    });
    expect(rows.status).toBe(400);
    expect(rows.json.error).toMatch(/same first \(batch\) dimension/);
  });
});

describe('serving under a mix of good and malformed traffic', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await registerFixture(server, 'gbt', 'gbt100.onnx');
    await server.slipway.services.serving.load('gbt');
  });
  afterAll(async () => server?.close());

  it('answers 1,000 malformed requests of every kind with a 4xx while good traffic sees no failure', async () => {
    const good = JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    });
    const malformed: { path: string; body: string; status: number }[] = [
      { path: '/v2/models/gbt/infer', body: '{"inputs": [{"name": "x"', status: 400 },
      { path: '/v2/models/gbt/infer', body: good.replace('FP32', 'INT32'), status: 400 },
      { path: '/v2/models/gbt/infer', body: good.replace('[1,8]', '[1,4]'), status: 400 },
      { path: '/v2/models/gbt/infer', body: good.replace('"name":"x"', '"name":"z"'), status: 400 },
      { path: '/v2/models/gbt/infer', body: '{"inputs": []}', status: 400 },
      {
        path: '/v2/models/gbt/infer',
        body: good.replace('[1,2,3,4,5,6,7,8]', '[1,2,3,4,5,6,7,"8"]'),
        status: 400,
      },
      { path: '/v2/models/missing/infer', body: good, status: 404 },
      {
        path: '/v2/models/gbt/infer',
        body: `{"inputs":[{"name":"x","shape":[1,8],"datatype":"FP32","data":[${'0,'.repeat(8_500_000)}0]}]}`,
        status: 413,
      },
    ];
    let goodFailures = 0;
    let goodCount = 0;
    let stop = false;
    const goodClient = async () => {
      while (!stop) {
        const response = await fetch(`${server.url}/v2/models/gbt/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: good,
        });
        await response.arrayBuffer();
        goodCount++;
        if (response.status !== 200) goodFailures++;
      }
    };
    const goodClients = Array.from({ length: 4 }, goodClient);
    const wrong: string[] = [];
    let sent = 0;
    const badClient = async () => {
      while (sent < 1000) {
        const kind = malformed[sent % malformed.length] as (typeof malformed)[number];
        // The huge body is costly to send; it stands for its kind 10 times.
        if (kind.status === 413 && sent % 100 >= malformed.length) {
          sent++;
          continue;
        }
        sent++;
        const response = await fetch(`${server.url}${kind.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: kind.body,
        });
        const answer = (await response.json()) as { error?: string };
        if (response.status !== kind.status || typeof answer.error !== 'string' || answer.error.length < 10) {
          wrong.push(
            `${kind.status} expected, got ${response.status}: ${JSON.stringify(answer).slice(0, 120)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, badClient));
    stop = true;
    await Promise.all(goodClients);
    expect(wrong).toEqual([]);
    expect(goodFailures).toBe(0);
    expect(goodCount).toBeGreaterThan(100);
  });
});
