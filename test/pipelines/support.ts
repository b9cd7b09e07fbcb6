import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { resolveServerConfig } from '../../src/core/config.js';
import type { PipelineRunView } from '../../src/pipelines/index.js';
import { createClient, type SlipwayClient } from '../../src/sdk/index.js';
import { createSlipway } from '../../src/server.js';
import type { TestServer } from '../support/slipway.js';
import { waitFor } from '../support/wait.js';

export { waitFor };

/** A real server with a fast pipeline scheduler (100 ms) on a temp data dir. */
export async function startPipelineServer(): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-pipelines-'));
  const slipway = await createSlipway(resolveServerConfig({ dataDir, logLevel: 'silent' }), {
    logger: false,
    payloadLog: false,
    pipelineTickMs: 100,
  });
  const url = await slipway.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    slipway,
    dataDir,
    client: createClient({ baseUrl: url }),
    async close() {
      await slipway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const workspaces: string[] = [];

/** A temp folder holding a spec's files (scripts, data): the pipeline's working dir. */
export async function workspace(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-workspace-'));
  workspaces.push(dir);
  await writeFiles(dir, files);
  return dir;
}

/** Removes every workspace this test file made. */
export async function removeWorkspaces(): Promise<void> {
  for (const dir of workspaces.splice(0)) await rm(dir, { recursive: true, force: true });
}

export async function writeFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** Waits until the run is no longer running. */
export const finished = (client: SlipwayClient, id: string): Promise<PipelineRunView> =>
  waitFor(
    () => client.getPipelineRun(id),
    (r) => r.status !== 'running',
    `pipeline run ${id}`,
  );

/** Applies a spec from a workspace and runs it to the end. */
export async function applyAndRun(
  client: SlipwayClient,
  dir: string,
  spec: string,
  params?: Record<string, string>,
): Promise<PipelineRunView> {
  const applied = await client.applyPipeline(spec, dir, 'spec.yaml');
  const run = await client.startPipelineRun(applied.pipeline.name, params);
  return finished(client, run.id);
}

export const stepOf = (run: PipelineRunView, name: string) => {
  const step = run.steps.find((s) => s.name === name);
  expect(step, `step ${name}`).toBeDefined();
  return step as PipelineRunView['steps'][number];
};
