import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SlipwayApiError, type SlipwayClient } from '../sdk/index.js';
import type { TrainingResult } from './trainer.js';

export interface LogTrainingOptions {
  /** Log into this run (e.g. MLFLOW_RUN_ID in a pipeline step) instead of creating one; it is left running. */
  runId?: string;
  /** Experiment of a new run; default 'Default' (created when missing). */
  experimentName?: string;
  runName?: string;
  /** The training data file, logged as the run's input dataset with a content digest. */
  dataFile?: string;
  label?: string;
  /** Register the model as a new version of this registered model (created when missing). */
  registerAs?: string;
  /** Point this alias at the new version. */
  alias?: string;
}

export interface LoggedTraining {
  runId: string;
  experimentId: string;
  /** `runs:/<run id>/model` */
  modelUri: string;
  version?: string;
}

/** sha256 of a file's bytes, streamed (training files can be large). */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Records a training result on a Slipway (or MLflow) server: params, holdout metrics, the data as a run input
 * with its digest, the ONNX model (with an MLflow `MLmodel` file) under `model/`, and optionally a registered
 * model version tagged with the label and task, so the gate and the registry know how to read it.
 */
export async function logTraining(
  client: SlipwayClient,
  result: TrainingResult,
  options: LogTrainingOptions = {},
): Promise<LoggedTraining> {
  let runId = options.runId;
  let experimentId: string;
  const created = runId === undefined;
  if (runId === undefined) {
    const name = options.experimentName ?? 'Default';
    experimentId = await client
      .getExperimentByName(name)
      .then((e) => e.experiment_id)
      .catch(async (error: unknown) => {
        if (error instanceof SlipwayApiError && error.status === 404) return client.createExperiment(name);
        throw error;
      });
    const run = await client.createRun({
      experimentId,
      ...(options.runName !== undefined && { runName: options.runName }),
      tags: [{ key: 'mlflow.source.name', value: 'slipway train' }],
    });
    runId = run.info.run_id;
  } else {
    experimentId = (await client.getRun(runId)).info.experiment_id;
  }

  const now = Date.now();
  await client.logBatch(runId, {
    params: Object.entries(result.params).map(([key, value]) => ({ key, value })),
    metrics: Object.entries(result.metrics).map(([key, value]) => ({ key, value, timestamp: now, step: 0 })),
  });
  if (options.dataFile !== undefined) {
    const path = resolve(options.dataFile);
    const { numeric, categorical } = result.model.features;
    await client.logInputs(runId, [
      {
        dataset: {
          name: basename(path),
          digest: (await fileDigest(path)).slice(0, 16),
          source_type: 'local',
          source: JSON.stringify({ uri: path }),
          schema: JSON.stringify({
            mlflow_colspec: [
              ...numeric.map((name) => ({ type: 'double', name })),
              ...categorical.map((name) => ({ type: 'string', name })),
              ...(options.label === undefined ? [] : [{ type: 'double', name: options.label }]),
            ],
          }),
          profile: JSON.stringify({ num_rows: result.trainRows + result.holdoutRows }),
        },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      },
    ]);
  }
  await client.logArtifact(runId, 'model/model.onnx', result.onnx);
  await client.logArtifact(
    runId,
    'model/MLmodel',
    `artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    providers:\n    - CPUExecutionProvider\nrun_id: ${runId}\n`,
  );
  if (created) await client.updateRun(runId, { status: 'FINISHED', endTime: Date.now() });

  const logged: LoggedTraining = { runId, experimentId, modelUri: `runs:/${runId}/model` };
  if (options.registerAs !== undefined) {
    await client.createRegisteredModel(options.registerAs).catch((error: unknown) => {
      if (!(error instanceof SlipwayApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
    });
    const version = await client.createModelVersion({
      name: options.registerAs,
      source: logged.modelUri,
      runId,
      tags: [
        { key: 'slipway.task', value: result.task },
        { key: 'slipway.algorithm', value: result.params.algorithm ?? '' },
        ...(options.label === undefined ? [] : [{ key: 'slipway.label', value: options.label }]),
      ],
    });
    logged.version = version.version;
    if (options.alias !== undefined)
      await client.setAlias(options.registerAs, options.alias, version.version);
  }
  return logged;
}
