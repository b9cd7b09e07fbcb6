import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturesDir } from './support/models.js';
import { startTestServer, type TestServer } from './support/slipway.js';

interface Exchange {
  why: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  bodyFile?: string;
  contentType?: string;
  expect: { status: number; json?: unknown };
  capture?: Record<string, string>;
}

interface ErrorCase {
  why: string;
  setup?: 'delete-run';
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  status: number;
  error_code: string;
  message: string;
}

const session = JSON.parse(
  await readFile(join(import.meta.dirname, 'mlflow-compat/python-client-session.json'), 'utf8'),
) as {
  exchanges: Exchange[];
  errors: ErrorCase[];
};

/** Replaces `${name}` with captured values and expands `@N metrics|params|tags|chars` generators. */
function resolve(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') {
    const generated = /^@(\d+) (metrics|params|tags|chars)$/.exec(value);
    if (generated !== null) {
      const n = Number(generated[1]);
      if (generated[2] === 'chars') return 'x'.repeat(n);
      if (generated[2] === 'metrics')
        return Array.from({ length: n }, (_, i) => ({ key: `m${i}`, value: i, timestamp: 1, step: 0 }));
      return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    }
    return value.replace(/\$\{(\w+)\}/g, (_, name: string) => {
      const found = vars[name];
      if (found === undefined) throw new Error(`no captured value for \${${name}}`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, vars)]));
  }
  return value;
}

/** Expected JSON is a subset: every expected field must be present and equal; arrays match element-wise. */
function expectSubset(actual: unknown, expected: unknown, path: string): void {
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${path} should be an array`).toBe(true);
    expect((actual as unknown[]).length, `${path}.length`).toBe(expected.length);
    expected.forEach((item, i) => {
      expectSubset((actual as unknown[])[i], item, `${path}[${i}]`);
    });
  } else if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object', `${path} should be an object`).toBe(true);
    for (const [key, value] of Object.entries(expected))
      expectSubset((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

const at = (value: unknown, dotted: string): string =>
  String(
    dotted.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value),
  );

/**
 * The MLflow Python client cannot be installed here (no PyPI), so its session is replayed from recorded
 * request/response pairs (test/mlflow-compat/python-client-session.json, taken from MLflow's protos, REST stores
 * and artifact repository): byte-for-byte the requests it sends, checked against the fields it reads back.
 */
describe('MLflow Python client session, replayed', () => {
  let server: TestServer;
  const vars: Record<string, string> = {};
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  const send = async (
    method: string,
    path: string,
    query: Record<string, string> | undefined,
    body: unknown,
    raw?: { data: Buffer; type: string },
  ) => {
    const url = new URL(`${server.url}${resolve(path, vars) as string}`);
    for (const [k, v] of Object.entries((resolve(query ?? {}, vars) as Record<string, string>) ?? {}))
      url.searchParams.append(k, v);
    const init: RequestInit = { method };
    if (raw !== undefined) init.body = raw.data;
    else if (method !== 'GET' && body !== undefined) init.body = JSON.stringify(resolve(body, vars));
    init.headers = { 'content-type': raw?.type ?? 'application/json' };
    const response = await fetch(url, init);
    const text = await response.text();
    return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as unknown) };
  };

  it('answers every exchange of the session as the client expects', async () => {
    for (const exchange of session.exchanges) {
      const raw =
        exchange.bodyFile === undefined
          ? undefined
          : {
              data: await readFile(join(fixturesDir, exchange.bodyFile)),
              type: exchange.contentType ?? 'application/octet-stream',
            };
      const response = await send(exchange.method, exchange.path, exchange.query, exchange.body, raw);
      expect({ why: exchange.why, status: response.status }).toEqual({
        why: exchange.why,
        status: exchange.expect.status,
      });
      if (exchange.expect.json !== undefined) {
        const expected = resolve(exchange.expect.json, vars);
        if (Object.keys(expected as object).length === 0) expect(response.json, exchange.why).toEqual({});
        else expectSubset(response.json, expected, exchange.why);
      }
      for (const [name, path] of Object.entries(exchange.capture ?? {})) vars[name] = at(response.json, path);
    }
  });

  it('answers malformed requests with MLflow error codes, statuses and messages', async () => {
    for (const error of session.errors) {
      if (error.setup === 'delete-run') {
        const run = await server.client.createRun({ experimentId: vars.experiment_id as string });
        await server.client.deleteRun(run.info.run_id);
        vars.deleted_run_id = run.info.run_id;
      }
      const response = await send(error.method, error.path, error.query, error.body);
      const body = response.json as { error_code?: string; message?: string };
      expect({ why: error.why, status: response.status, code: body.error_code }).toEqual({
        why: error.why,
        status: error.status,
        code: error.error_code,
      });
      expect(body.message, error.why).toContain(resolve(error.message, vars));
    }
    // Nothing of the rejected batches was written.
    const run = await server.client.getRun(vars.run_id as string);
    expect(run.data.metrics?.map((m) => m.key)).toEqual(['acc', 'f1', 'loss']);
    expect(run.data.params?.find((p) => p.key === 'alpha')?.value).toBe('0.5');
  });
});
