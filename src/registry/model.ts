import type { ModelSignature } from './onnx-signature.js';

/** Registry entities in MLflow's REST shapes, plus Slipway's signature, lineage and card. */

export type Stage = 'None' | 'Staging' | 'Production' | 'Archived';
export const STAGES: readonly Stage[] = ['None', 'Staging', 'Production', 'Archived'];

export interface KeyValue {
  key: string;
  value: string;
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: Stage;
  description?: string;
  source: string;
  run_id?: string;
  run_link?: string;
  status: 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';
  status_message?: string;
  tags?: KeyValue[];
  aliases?: string[];
}

export interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
}

/** Where a version came from: enough to reproduce it. */
export interface Lineage {
  run_id?: string;
  experiment_id?: string;
  run_name?: string;
  /** `mlflow.source.git.commit` of the run. */
  git_commit?: string;
  source_name?: string;
  datasets: { name: string; digest: string; source: string; source_type: string; context?: string }[];
}

export interface ModelCard {
  markdown: string;
  metrics: Record<string, number | string>;
  params: Record<string, string>;
}

/** Slipway's full view of a version. */
export interface ModelVersionDetail {
  model_version: ModelVersion;
  flavor?: string;
  content_digest?: string;
  signature?: ModelSignature;
  lineage: Lineage;
  card: ModelCard;
}
