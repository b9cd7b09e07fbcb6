import type { DatasetInput } from '../tracking/index.js';
import type { Definitions } from './definitions.js';
import { type FeaturePlan, planFeatures } from './feature-plan.js';
import type { EntitySource, HistoricalResult, OfflineStore } from './offline-store.js';
import { loadTransform, type RowTransform } from './transforms.js';

export interface TrainingSetRequest {
  features?: string[] | undefined;
  featureService?: string | undefined;
  entities: EntitySource;
  timestampColumn?: string | undefined;
  fullFeatureNames?: boolean | undefined;
  outputPath?: string | undefined;
  onProgress?: (percent: number) => void;
}

/**
 * Builds a point-in-time correct training set from definitions alone: what the server does, and what the CLI
 * does in its own process (so a large set streams to a local Parquet file with a progress bar).
 */
export async function buildTrainingSet(
  offline: OfflineStore,
  defs: Definitions,
  request: TrainingSetRequest,
  loaded?: ReadonlyMap<string, RowTransform>,
): Promise<{ plan: FeaturePlan; result: HistoricalResult }> {
  const plan = planFeatures(defs, request);
  const transforms = new Map<string, RowTransform>();
  for (const odfv of plan.onDemand)
    transforms.set(odfv.name, loaded?.get(odfv.name) ?? (await loadTransform(odfv)));
  const result = await offline.historical({
    plan,
    sources: new Map(defs.sources.map((s) => [s.name, s])),
    transforms,
    entities: request.entities,
    timestampColumn: request.timestampColumn ?? 'event_timestamp',
    ...(request.outputPath !== undefined && { outputPath: request.outputPath }),
    ...(request.onProgress !== undefined && { onProgress: request.onProgress }),
  });
  return { plan, result };
}

/**
 * A training set as a run input (MLflow's dataset): digest from the Parquet file's sha256, the file as source,
 * its schema, row count, and the features and registry version used, so a model's lineage names its data.
 */
export function trainingSetDataset(
  name: string,
  result: HistoricalResult & { digest: string; outputPath: string },
  plan: FeaturePlan,
  registryVersion: number,
): DatasetInput {
  return {
    dataset: {
      name,
      digest: result.digest.slice(0, 16),
      source_type: 'local',
      source: JSON.stringify({ uri: result.outputPath, sha256: result.digest }),
      schema: JSON.stringify({
        mlflow_colspec: result.columns.map((c) => ({ name: c.name, type: c.type.toLowerCase() })),
      }),
      profile: JSON.stringify({ num_rows: result.rowCount }),
    },
    tags: [
      { key: 'mlflow.data.context', value: 'training' },
      { key: 'slipway.features', value: plan.requested.map((r) => `${r.view}:${r.field}`).join(',') },
      { key: 'slipway.feature_registry_version', value: String(registryVersion) },
    ],
  };
}
