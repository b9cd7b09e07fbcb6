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
  feature_registry: FeatureRegistryTable;
  feature_materializations: FeatureMaterializationTable;
  feature_endpoint_bindings: FeatureEndpointBindingTable;
  monitors: MonitorTable;
  monitor_references: MonitorReferenceTable;
  monitor_windows: MonitorWindowTable;
  monitor_predictions: MonitorPredictionTable;
  monitor_results: MonitorResultTable;
  alert_rules: AlertRuleTable;
  alert_events: AlertEventTable;
  pipelines: PipelineTable;
  pipeline_versions: PipelineVersionTable;
  pipeline_runs: PipelineRunTable;
  pipeline_steps: PipelineStepTable;
  pipeline_leases: { name: string; owner: string | null; until: number | null };
}

export interface PipelineTable {
  name: string;
  /** The current (latest applied) version. */
  version: number;
  /** Command steps run here; relative paths in the spec resolve against it. */
  working_dir: string;
  schedule: string | null;
  /** Data trigger: a glob relative to the working dir, polled every `data_poll_ms`. */
  data_path: string | null;
  data_poll_ms: number | null;
  /** The last cron time a run was started for, so two processes or a restart never fire one time twice. */
  last_fire_at: number | null;
  /** Hash of the data trigger's files (names, sizes, mtimes) when last seen. */
  data_fingerprint: string | null;
  created_at: number;
  updated_at: number;
}

export interface PipelineVersionTable {
  name: string;
  version: number;
  spec_yaml: string;
  /** The validated spec (PipelineSpec), what runs execute. */
  spec_json: string;
  working_dir: string;
  /** The spec's file name, for error messages. */
  source: string;
  created_at: number;
}

export interface PipelineRunTable {
  id: string;
  pipeline: string;
  version: number;
  status: 'running' | 'succeeded' | 'failed';
  /** What started it: manual, schedule, alert, data, resume. */
  reason: string;
  /** Effective params: the spec's defaults overridden by the trigger's. */
  params_json: string;
  /** A file holding the trigger's input (an alert, the changed files), passed to steps. */
  trigger_input_path: string | null;
  experiment_id: string;
  /** The run's own tracking run; each step's run is nested under it. */
  tracking_run_id: string;
  error: string | null;
  /** The process executing the run, renewed while it runs; an expired lease means the process died. */
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  finished_at: number | null;
}

export interface PipelineStepTable {
  run_id: string;
  step: string;
  pipeline: string;
  /** Declaration order in the spec. */
  position: number;
  kind: 'command' | 'register' | 'deploy' | 'gate';
  status: 'pending' | 'running' | 'succeeded' | 'cached' | 'failed' | 'skipped';
  attempts: number;
  /** sha256 of command, code, params, inputs; equal keys reuse outputs. */
  cache_key: string | null;
  /** The step tracking run whose outputs a cached step reused. */
  cached_from: string | null;
  tracking_run_id: string | null;
  /** JSON: output name -> { run_id, path (artifact path in the run), sha256, size_bytes }. */
  outputs_json: string | null;
  /** JSON: a built-in step's result (e.g. the registered version), usable as `${steps.x.key}`. */
  result_json: string | null;
  log_path: string | null;
  exit_code: number | null;
  error: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface MonitorTable {
  endpoint: string;
  config_json: string;
  lease_owner: string | null;
  lease_until: number | null;
  last_run_at: number | null;
  labels_accepted: Generated<number>;
  labels_unknown: Generated<number>;
  labels_duplicate: Generated<number>;
  labels_conflicting: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface MonitorReferenceTable {
  id: Generated<number>;
  model: string;
  version: string;
  source: string;
  schema_json: string;
  profile_json: string;
  created_at: number;
}

export interface MonitorWindowTable {
  endpoint: string;
  version: string;
  replica: string;
  start_ms: number;
  end_ms: number;
  rows: number;
  profile_json: string;
}

export interface MonitorPredictionTable {
  endpoint: string;
  request_id: string;
  row_index: number;
  version: string;
  timestamp_ms: number;
  prediction: number | null;
  predicted_label: number | null;
  label: number | null;
  labelled_at: number | null;
}

export interface MonitorResultTable {
  id: Generated<number>;
  endpoint: string;
  run_at: number;
  window_start: number;
  window_end: number;
  result_json: string;
}

export interface AlertRuleTable {
  id: Generated<number>;
  endpoint: string;
  name: string;
  expression: string;
  for_ms: number;
  webhook_url: string | null;
  webhook_format: string;
  pipeline: string | null;
  state: string;
  state_since: number;
  breaches: number;
  last_value: number | null;
  created_at: number;
}

export interface AlertEventTable {
  id: Generated<number>;
  rule_id: number;
  endpoint: string;
  rule: string;
  state: string;
  value: number | null;
  at: number;
  delivery_json: string;
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

/** One applied version of the feature definitions; the current one has the highest version. */
export interface FeatureRegistryTable {
  version: number;
  project: string;
  /** sha256 of definitions_json. */
  digest: string;
  definitions_json: string;
  /** The diff against the previous version (DefinitionChange[]). */
  changes_json: string;
  actor: string;
  applied_at: number;
}

/** An interval of event time [start_ms, end_ms) materialized into the online store for one feature view. */
export interface FeatureMaterializationTable {
  id: Generated<number>;
  view: string;
  start_ms: number;
  end_ms: number;
  rows: number;
  started_at: number;
  finished_at: number;
}

/** An endpoint whose requests are enriched with a feature service's features before the model runs. */
export interface FeatureEndpointBindingTable {
  endpoint: string;
  feature_service: string;
  /** JSON object: join key -> the request input (column) carrying it. */
  entity_inputs_json: string;
  updated_at: number;
}
