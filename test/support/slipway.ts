import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveServerConfig } from '../../src/core/config.js';
import { createClient, type SlipwayClient } from '../../src/sdk/index.js';
import { createSlipway, type Slipway, type SlipwayOptions } from '../../src/server.js';

export interface TestServer {
  url: string;
  client: SlipwayClient;
  slipway: Slipway;
  dataDir: string;
  close(): Promise<void>;
}

/** A real Slipway server on a loopback port, on a temp data dir (SQLite unless `db` names PostgreSQL). */
export async function startTestServer(
  options: { db?: string; slipway?: Omit<SlipwayOptions, 'logger'> } = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-test-'));
  const config = resolveServerConfig({
    dataDir,
    port: 0,
    logLevel: 'silent',
    ...(options.db !== undefined && { db: options.db }),
  });
  const slipway = await createSlipway(config, {
    ...options.slipway,
    logger: process.env.SLIPWAY_TEST_LOG === '1' ? { level: 'error' } : false,
  });
  const address = await slipway.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    client: createClient({ baseUrl: address }),
    slipway,
    dataDir,
    async close() {
      await slipway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Raw JSON call, for asserting exact status codes and bodies. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> & { error_code?: string; message?: string } }> {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : JSON.parse(text) };
}
