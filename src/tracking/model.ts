/** Tracking entities, in the shapes MLflow's REST API returns (snake_case, proto3 JSON). */

export type LifecycleStage = 'active' | 'deleted';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  last_update_time: number;
  creation_time: number;
  tags?: KeyValue[];
}

/** A metric value as it travels in JSON: proto3 writes NaN and infinities as strings. */
export type JsonDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export interface Metric {
  key: string;
  value: JsonDouble;
  timestamp: number;
  step: number;
}

export interface RunInfo {
  run_id: string;
  /** Deprecated twin of run_id that older clients still read. */
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags?: KeyValue[];
  dataset: Dataset;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs: { dataset_inputs?: DatasetInput[] };
}

/** A metric as the service receives it, value already a JS number (NaN and infinities allowed). */
export interface MetricInput {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export const toJsonDouble = (value: number): JsonDouble => {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
};

/** Tags MLflow clients set and read. */
export const RUN_NAME_TAG = 'mlflow.runName';
export const GIT_COMMIT_TAG = 'mlflow.source.git.commit';
export const DATASET_CONTEXT_TAG = 'mlflow.data.context';
