import { Counter, Gauge, type Registry } from 'prom-client';
import type { MonitorResult } from './service.js';

/** Monitoring's Prometheus series, exported with the serving metrics on /metrics. */
export function createMonitoringMetrics(registry: Registry) {
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const driftScore = gauge(
    'slipway_monitor_drift_score',
    'Drift score of a feature or the prediction in the last monitor run (p-value for ks/chisquare, else a distance)',
    ['endpoint', 'feature', 'test'],
  );
  const drifted = gauge('slipway_monitor_feature_drifted', '1 when the feature drifted in the last run', [
    'endpoint',
    'feature',
  ]);
  const driftShare = gauge('slipway_monitor_drift_share', 'Share of features that drifted in the last run', [
    'endpoint',
  ]);
  const datasetDrift = gauge('slipway_monitor_dataset_drift', '1 when the dataset drifted in the last run', [
    'endpoint',
  ]);
  const quality = gauge('slipway_monitor_data_quality', 'Data quality of the last window, by measure', [
    'endpoint',
    'measure',
  ]);
  const performance = gauge(
    'slipway_monitor_performance',
    'Model quality on labelled rows of the last window, by version and metric',
    ['endpoint', 'version', 'metric'],
  );
  const windowRows = gauge('slipway_monitor_window_rows', 'Rows in the last monitored window', ['endpoint']);
  const lastRun = gauge('slipway_monitor_last_run_timestamp_seconds', 'When the monitor last ran', [
    'endpoint',
  ]);
  return {
    alertFiring: gauge('slipway_monitor_alert_firing', '1 while the alert rule fires', ['endpoint', 'rule']),
    labels: new Counter({
      name: 'slipway_monitor_labels_total',
      help: 'Ground-truth labels received, by outcome (accepted, unknown, duplicate, conflicting)',
      labelNames: ['endpoint', 'outcome'],
      registers: [registry],
    }),
    runs: new Counter({
      name: 'slipway_monitor_runs_total',
      help: 'Scheduled monitor runs, by outcome',
      labelNames: ['endpoint', 'outcome'],
      registers: [registry],
    }),
    ingestErrors: new Counter({
      name: 'slipway_monitor_ingest_errors_total',
      help: 'Payload batches monitoring failed to profile',
      registers: [registry],
    }),
    /** Publishes a run's results. */
    observe(endpoint: string, result: MonitorResult): void {
      lastRun.set({ endpoint }, result.run_at / 1000);
      windowRows.set({ endpoint }, result.metrics.rows ?? 0);
      const drift = result.drift;
      if (drift !== undefined) {
        driftShare.set({ endpoint }, drift.drift_share);
        datasetDrift.set({ endpoint }, drift.dataset_drift ? 1 : 0);
        for (const column of drift.columns) {
          if (column.drift === undefined) continue;
          driftScore.set({ endpoint, feature: column.column, test: column.drift.test }, column.drift.value);
          drifted.set({ endpoint, feature: column.column }, column.drift.drifted ? 1 : 0);
        }
        quality.set({ endpoint, measure: 'missing_rate' }, drift.missing_rate);
        quality.set({ endpoint, measure: 'schema_violations' }, drift.schema_violations);
        for (const measure of ['out_of_range_rate', 'unseen_rate', 'type_mismatches'] as const) {
          quality.set({ endpoint, measure }, result.metrics[measure] ?? 0);
        }
      }
      for (const [version, metrics] of Object.entries(result.performance?.by_version ?? {})) {
        for (const [metric, value] of Object.entries(metrics)) {
          if (Number.isFinite(value)) performance.set({ endpoint, version, metric }, value);
        }
      }
    },
  };
}

export type MonitoringMetrics = ReturnType<typeof createMonitoringMetrics>;
