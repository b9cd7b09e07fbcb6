import { invalidParameter } from '../core/errors.js';
import type { KeyValue, MetricInput } from './model.js';

/** MLflow's limits (mlflow/utils/validation.py), kept identical so clients see the same behaviour. */
export const limits = {
  metricsPerBatch: 1000,
  paramsTagsPerBatch: 100,
  entitiesPerBatch: 1000,
  datasetsPerBatch: 1000,
  entityKeyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 500,
  experimentTagKeyLength: 250,
  experimentTagValueLength: 5000,
  runNameLength: 500,
  datasetNameLength: 500,
  datasetDigestLength: 36,
  datasetSourceLength: 65535,
  datasetSchemaLength: 1048575,
  datasetProfileLength: 16777215,
  inputTagKeyLength: 255,
  inputTagValueLength: 500,
  searchMaxResultsDefault: 1000,
  searchMaxResults: 50000,
  metricHistoryMaxResults: 25000,
} as const;

const KEY_PATTERN = /^[/\w.\- :]*$/;

/** Names become file names in some stores, so MLflow restricts their characters and path shape. */
export function validateKey(kind: 'metric' | 'param' | 'tag', key: string): void {
  if (!KEY_PATTERN.test(key)) {
    throw invalidParameter(
      `Invalid ${kind} name: '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), ` +
        'periods (.), spaces ( ), colon(:) and slashes (/).',
    );
  }
  const normalized = normalizeKeyPath(key);
  if (normalized !== key || key === '' || key.startsWith('/')) {
    throw invalidParameter(
      `Invalid ${kind} name: '${key}'. Names may be treated as files in certain cases, and must not resolve ` +
        `to other names when treated as such. This name would resolve to '${normalized}'`,
    );
  }
  validateLength(`${capitalize(kind)} key`, key, limits.entityKeyLength);
}

function normalizeKeyPath(key: string): string {
  const out: string[] = [];
  for (const part of key.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

export function validateLength(what: string, value: string, limit: number): void {
  if (value.length > limit) {
    const shown = value.length > 100 ? `${value.slice(0, 100)}...` : value;
    throw invalidParameter(
      `${what} '${shown}' had length ${value.length}, which exceeded length limit of ${limit}`,
    );
  }
}

export function validateParam(param: KeyValue): void {
  validateKey('param', param.key);
  validateLength('Param value', param.value, limits.paramValueLength);
}

export function validateTag(tag: KeyValue): void {
  validateKey('tag', tag.key);
  validateLength('Tag value', tag.value, limits.tagValueLength);
}

export function validateMetric(metric: MetricInput): void {
  validateKey('metric', metric.key);
  if (!Number.isInteger(metric.timestamp)) {
    throw invalidParameter(
      `Got invalid timestamp ${metric.timestamp} for metric '${metric.key}' (value=${metric.value}). ` +
        'Timestamp must be a nonnegative long (64-bit integer) ',
    );
  }
  if (!Number.isInteger(metric.step)) {
    throw invalidParameter(
      `Got invalid step ${metric.step} for metric '${metric.key}' (value=${metric.value}). ` +
        'Step must be a valid long (64-bit integer).',
    );
  }
}

export function validateBatchLimits(counts: { metrics: number; params: number; tags: number }): void {
  const check = (name: string, got: number, limit: number): void => {
    if (got > limit) {
      throw invalidParameter(
        `A batch logging request can contain at most ${limit} ${name}. Got ${got} ${name}. ` +
          `Please split up ${name} across multiple requests and try again.`,
      );
    }
  };
  check('metrics', counts.metrics, limits.metricsPerBatch);
  check('params', counts.params, limits.paramsTagsPerBatch);
  check('tags', counts.tags, limits.paramsTagsPerBatch);
  check('entities', counts.metrics + counts.params + counts.tags, limits.entitiesPerBatch);
}

export function validateMaxResults(maxResults: number, limit: number = limits.searchMaxResults): void {
  if (maxResults < 1 || maxResults > limit) {
    throw invalidParameter(
      `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${limit}, ` +
        'and at least 1.',
    );
  }
}

export function validateExperimentName(name: string): void {
  if (name.trim() === '') {
    throw invalidParameter(`Invalid experiment name: '${name}'. Expected a non-empty string.`);
  }
  validateLength('Experiment name', name, limits.experimentNameLength);
}
