import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from './support/slipway.js';

/** The MLflow REST surface over real HTTP: shapes, status codes and error bodies as MLflow answers them. */
describe('MLflow REST API over HTTP', () => {
  let server: TestServer;
  let runId: string;
  let experimentId: string;
  beforeAll(async () => {
    server = await startTestServer();
    experimentId = await server.client.createExperiment('http');
    runId = (await server.client.createRun({ experimentId })).info.run_id;
  });
  afterAll(async () => server?.close());

  const call = (method: string, path: string, body?: unknown) => api(server.url, method, path, body);

  it('answers health, request ids and OpenAPI docs', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'sqlite' });
    expect(health.headers.get('x-request-id')).toMatch(/[0-9a-f-]{36}/);
    const echoed = await fetch(`${server.url}/health`, { headers: { 'x-request-id': 'trace-42' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-42');
    // Errors carry it too: a route's 4xx, an unknown route and a body that is not JSON.
    const traced = { 'x-request-id': 'trace-43', 'content-type': 'application/json' };
    for (const [path, method, body] of [
      ['/api/2.0/mlflow/runs/get?run_id=nope', 'GET', undefined],
      ['/no/such/route', 'GET', undefined],
      ['/api/2.0/mlflow/runs/create', 'POST', '{not json'],
    ] as const) {
      const failed = await fetch(`${server.url}${path}`, {
        method,
        headers: traced,
        ...(body !== undefined && { body }),
      });
      expect(failed.status, path).toBeGreaterThanOrEqual(400);
      expect(failed.status, path).toBeLessThan(500);
      expect(failed.headers.get('x-request-id'), path).toBe('trace-43');
    }
    const openapi = (await (await fetch(`${server.url}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toContain('/api/2.0/mlflow/runs/log-batch');
    expect((await fetch(`${server.url}/docs`, { redirect: 'manual' })).status).toBeLessThan(400);
  });

  it('returns proto3-shaped JSON with numbers for int64 fields', async () => {
    const created = await call('POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: experimentId,
      start_time: 1700000000000,
      tags: [{ key: 'mlflow.user', value: 'ana' }],
    });
    expect(created.status).toBe(200);
    const info = (created.json.run as { info: Record<string, unknown> }).info;
    expect(info).toMatchObject({
      experiment_id: experimentId,
      status: 'RUNNING',
      start_time: 1700000000000,
      lifecycle_stage: 'active',
    });
    expect(info.run_id).toBe(info.run_uuid);
    expect(info).not.toHaveProperty('end_time');
    // int64 as strings (proto3 JSON) is accepted too.
    const logged = await call('POST', '/api/2.0/mlflow/runs/log-metric', {
      run_id: info.run_id,
      key: 'loss',
      value: 'NaN',
      timestamp: '1700000000001',
      step: '3',
    });
    expect(logged).toEqual({ status: 200, json: {} });
    const got = await call('GET', `/api/2.0/mlflow/runs/get?run_id=${info.run_id}`);
    expect((got.json.run as { data: { metrics: unknown[] } }).data.metrics).toEqual([
      { key: 'loss', value: 'NaN', timestamp: 1700000000001, step: 3 },
    ]);
  });

  it('answers errors with MLflow codes, statuses and messages that name the field', async () => {
    const cases: [string, string, unknown, number, string, RegExp][] = [
      [
        'GET',
        '/api/2.0/mlflow/runs/get?run_id=ffffffffffffffffffffffffffffffff',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /Run with id=f+ not found/,
      ],
      [
        'GET',
        '/api/2.0/mlflow/experiments/get?experiment_id=4242',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /No Experiment with id=4242/,
      ],
      [
        'GET',
        '/api/2.0/mlflow/experiments/get-by-name?experiment_name=nope',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /nope/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/experiments/create',
        { name: 'http' },
        400,
        'RESOURCE_ALREADY_EXISTS',
        /already exists/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/experiments/create',
        {},
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'name'/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/experiments/create',
        { name: 42 },
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid value 42 for parameter 'name'/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/runs/log-metric',
        { key: 'a', value: 1, timestamp: 1 },
        400,
        'INVALID_PARAMETER_VALUE',
        /run_id/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/runs/log-metric',
        { run_id: 'x', key: 'a', value: 'high', timestamp: 1 },
        400,
        'INVALID_PARAMETER_VALUE',
        /parameter 'value'.*expected a number/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/runs/log-metric',
        { run_id: 'x', key: 'a', value: 1, timestamp: 1.5 },
        400,
        'INVALID_PARAMETER_VALUE',
        /parameter 'timestamp'/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/runs/log-batch',
        { run_id: 'x', metrics: [{ key: 'a', value: 1 }] },
        400,
        'INVALID_PARAMETER_VALUE',
        /metrics\.0\.timestamp/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/runs/search',
        { experiment_ids: ['0'], filter: 'metrics.acc > ' },
        400,
        'INVALID_PARAMETER_VALUE',
        /position \d+/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/runs/search',
        { experiment_ids: ['0'], max_results: 50001 },
        400,
        'INVALID_PARAMETER_VALUE',
        /max_results/,
      ],
      [
        'POST',
        '/api/2.0/mlflow/runs/search',
        { experiment_ids: ['0'], page_token: '!!!' },
        400,
        'INVALID_PARAMETER_VALUE',
        /page token/,
      ],
      [
        'GET',
        '/api/2.0/mlflow/registered-models/get?name=ghost',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /ghost/,
      ],
      ['GET', '/api/2.0/mlflow/no-such-endpoint', undefined, 404, 'ENDPOINT_NOT_FOUND', /no-such-endpoint/],
      ['POST', '/api/2.0/mlflow/runs/create', '{"experiment_id": ', 400, 'BAD_REQUEST', /JSON/i],
    ];
    for (const [method, path, body, status, code, message] of cases) {
      const response = await call(method, path, body);
      expect({ path, status: response.status, code: response.json.error_code }).toEqual({
        path,
        status,
        code,
      });
      expect(response.json.message).toMatch(message);
    }
  });

  it('proxies artifacts: upload, list, download, and refuses paths that escape the root', async () => {
    const run = await server.client.getRun(runId);
    const root = run.info.artifact_uri.replace('mlflow-artifacts:/', '');
    const upload = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/weights.json`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{"w": [1, 2, 3]}',
      },
    );
    expect(upload.status).toBe(200);
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const bigUpload = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/data/blob.bin`, {
      method: 'PUT',
      body: big,
    });
    expect(bigUpload.status).toBe(200);

    const listing = await call('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${root}`);
    expect(listing.json.files).toEqual([
      { path: 'data', is_dir: true },
      { path: 'model', is_dir: true },
    ]);
    const runListing = await call('GET', `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=model`);
    expect(runListing.json).toEqual({
      root_uri: run.info.artifact_uri,
      files: [{ path: 'model/weights.json', is_dir: false, file_size: 16 }],
    });

    const download = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/weights.json`,
    );
    expect(await download.text()).toBe('{"w": [1, 2, 3]}');
    const bigDownload = Buffer.from(
      await (
        await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/data/blob.bin`)
      ).arrayBuffer(),
    );
    expect(bigDownload.equals(big)).toBe(true);

    const missing = await call('GET', `/api/2.0/mlflow-artifacts/artifacts/${root}/nope.txt`);
    expect(missing.status).toBe(404);
    for (const evil of [
      '..%2F..%2Fetc%2Fpasswd',
      `${root}/..%2F..%2F..%2F..%2Fescape.txt`,
      '%2Fetc%2Fpasswd',
    ]) {
      const response = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${evil}`, {
        method: 'PUT',
        body: 'x',
      });
      expect(response.status, evil).toBe(400);
      expect(((await response.json()) as { message: string }).message).toMatch(/artifact path/);
    }
    const listEvil = await call('GET', '/api/2.0/mlflow-artifacts/artifacts?path=../..');
    expect(listEvil.status).toBe(400);
  });

  it('answers the registry with MLflow shapes and the version detail with signature and card', async () => {
    const created = await call('POST', '/api/2.0/mlflow/registered-models/create', {
      name: 'shapes',
      tags: [{ key: 'k', value: 'v' }],
    });
    expect(created.json.registered_model).toMatchObject({ name: 'shapes', tags: [{ key: 'k', value: 'v' }] });
    const version = await call('POST', '/api/2.0/mlflow/model-versions/create', {
      name: 'shapes',
      source: 's3://bucket/model',
      run_id: runId,
    });
    expect(version.json.model_version).toMatchObject({
      name: 'shapes',
      version: '1',
      current_stage: 'None',
      status: 'READY',
      run_id: runId,
    });
    expect(
      (
        await call('POST', '/api/2.0/mlflow/registered-models/alias', {
          name: 'shapes',
          alias: 'champion',
          version: '1',
        })
      ).status,
    ).toBe(200);
    const byAlias = await call('GET', '/api/2.0/mlflow/registered-models/alias?name=shapes&alias=champion');
    expect(byAlias.json.model_version).toMatchObject({ version: '1', aliases: ['champion'] });
    const deleted = await call('DELETE', '/api/2.0/mlflow/registered-models/alias', {
      name: 'shapes',
      alias: 'champion',
    });
    expect(deleted.status).toBe(200);
    const updated = await call('PATCH', '/api/2.0/mlflow/model-versions/update', {
      name: 'shapes',
      version: '1',
      description: 'first',
    });
    expect(updated.json.model_version).toMatchObject({ description: 'first' });
    const detail = await call('GET', '/api/v1/models/shapes/versions/1');
    expect(detail.json).toMatchObject({ model_version: { name: 'shapes' }, lineage: { run_id: runId } });
    const card = await call('PUT', '/api/v1/models/shapes/versions/1/card', {
      markdown: '# Shapes\nreviewed',
    });
    expect((card.json.card as { markdown: string }).markdown).toBe('# Shapes\nreviewed');
    const search = await call('GET', "/api/2.0/mlflow/registered-models/search?filter=name%20%3D%20'shapes'");
    expect((search.json.registered_models as unknown[]).length).toBe(1);
    const badFilter = await call('GET', "/api/2.0/mlflow/model-versions/search?filter=name%20%3D%3D%20'x'");
    expect(badFilter.status).toBe(400);
  });
});
