import type { Generated } from 'kysely';

/**
 * The metadata database, one interface per table. Integers that can exceed 2^31 (timestamps in ms, steps) are
 * `bigint` columns read back as JS numbers (the pg driver is told to parse int8 as number; all values we
 * store are below 2^53).
 */
export interface Database {
  experiments: ExperimentTable;
  experiment_tags: KeyValueTable & { experiment_id: number };
  runs: RunTable;
  metrics: MetricTable;
  latest_metrics: MetricTable;
  params: KeyValueTable & { run_id: string };
  tags: KeyValueTable & { run_id: string };
  datasets: DatasetTable;
  run_inputs: RunInputTable;
  registered_models: RegisteredModelTable;
  registered_model_tags: KeyValueTable & { name: string };
  registered_model_aliases: { name: string; alias: string; version: number };
  model_versions: ModelVersionTable;
  model_version_tags: KeyValueTable & { name: string; version: number };
  endpoints: EndpointTable;
  endpoint_events: EndpointEventTable;
  rollouts: RolloutTable;
}

export interface EndpointTable {
  name: string;
  model: string;
  policy_json: string;
  stable_version: string;
  previous_stable_version: string | null;
  /** The stable version's signature: every version the endpoint routes to must match it. */
  signature_json: string | null;
  webhook_url: string | null;
  /** Bumped on every change, so replicas and routers notice by polling one integer. */
  revision: number;
  created_at: number;
  updated_at: number;
}

export interface EndpointEventTable {
  id: Generated<number>;
  endpoint: string;
  at: number;
  actor: string;
  kind: string;
  from_json: string | null;
  to_json: string | null;
  reason: string;
}

export interface RolloutTable {
  id: string;
  endpoint: string;
  baseline_version: string;
  candidate_version: string;
  /** JSON array of canary weights (percent of traffic to the candidate), the last being 100. */
  steps_json: string;
  interval_ms: number;
  checks_json: string;
  /** 1: every passed step waits for a person's `rollout resume` before the next one. */
  approval: number;
  awaiting_approval: number;
  current_step: number;
  state: 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';
  step_started_at: number;
  last_analysis_json: string | null;
  /** Which server process runs this rollout, until when: a second process must not run it too. */
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
}

export interface KeyValueTable {
  key: string;
  value: string;
}

export interface ExperimentTable {
  experiment_id: Generated<number>;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

export interface RunTable {
  run_id: string;
  experiment_id: number;
  run_name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: string;
  deleted_time: number | null;
}

export interface MetricTable {
  run_id: string;
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** 1 when the logged value was NaN (stored value is then 0), as MLflow does. */
  is_nan: number;
}

export interface DatasetTable {
  dataset_id: string;
  experiment_id: number;
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface RunInputTable {
  run_id: string;
  dataset_id: string;
  /** The `mlflow.data.context` input tag (training, validation, ...), kept apart for search. */
  context: string | null;
  /** All input tags as a JSON array of {key, value}. */
  tags_json: string;
}

export interface RegisteredModelTable {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string | null;
}

export interface ModelVersionTable {
  name: string;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string | null;
  user_id: string | null;
  current_stage: string;
  source: string;
  run_id: string | null;
  run_link: string | null;
  status: string;
  status_message: string | null;
  /** Slipway: JSON of the ModelSignature read from the model file, or null when unknown. */
  signature_json: string | null;
  /** Slipway: JSON of the lineage (run, datasets, code version). */
  lineage_json: string | null;
  /** Slipway: the model card, markdown, and the metrics snapshot as JSON. */
  model_card_md: string | null;
  metrics_snapshot_json: string | null;
  flavor: string | null;
  /** sha256 of the model file (or of the sorted file list for a directory). */
  content_digest: string | null;
}
