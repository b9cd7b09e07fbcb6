import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestServer } from './slipway.js';

export const fixturesDir = join(import.meta.dirname, '../fixtures/models');

/** Registers a fixture model file as a new version of `name` (the model is created on first use). */
export async function registerFixture(server: TestServer, name: string, file: string): Promise<string> {
  const { client, slipway } = server;
  const experimentId = await client.createExperiment(`${name}-${Date.now()}-${Math.random()}`);
  const run = await client.createRun({ experimentId });
  const root = await slipway.services.tracking.artifactRootOf(run.info.run_id);
  await slipway.services.blobs.put(`${root}/model/model.onnx`, await readFile(join(fixturesDir, file)));
  await client.createRegisteredModel(name).catch(() => undefined);
  const version = await client.createModelVersion({
    name,
    source: `runs:/${run.info.run_id}/model`,
    runId: run.info.run_id,
  });
  return version.version;
}

/** Every value within `tolerance` (absolute) of the expected one, same length. */
export function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs((actual[i] as number) - (expected[i] as number)), `element ${i}`).toBeLessThan(tolerance);
  }
}
