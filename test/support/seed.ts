import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveServerConfig } from '../../src/core/config.js';
import { createServices } from '../../src/server.js';

const fixturesDir = join(import.meta.dirname, '../fixtures/models');

/**
 * Registers fixture model files as versions 1, 2, ... of `model` in a data dir, through the services (no server
 * running), so a `slipway server` or `slipway serve` started on that dir finds them. Used by tests that spawn
 * the binary and by the benchmarks.
 */
export async function seedModelVersions(
  dataDir: string,
  model: string,
  files: readonly string[],
): Promise<void> {
  const services = await createServices(resolveServerConfig({ dataDir }), { payloadLog: false });
  try {
    const experimentId = await services.tracking.createExperiment({ name: `${model}-seed` });
    await services.registry.createRegisteredModel({ name: model });
    for (const file of files) {
      const run = await services.tracking.createRun({ experimentId });
      const artifacts = await services.tracking.artifactRootOf(run.info.run_id);
      await services.blobs.put(`${artifacts}/model/model.onnx`, await readFile(join(fixturesDir, file)));
      await services.registry.createModelVersion({
        name: model,
        source: `runs:/${run.info.run_id}/model`,
        runId: run.info.run_id,
      });
    }
  } finally {
    await services.close();
  }
}
