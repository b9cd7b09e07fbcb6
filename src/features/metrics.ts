import type { Registry } from 'prom-client';
import { CellHistogram, type HistogramCell } from '../core/cell-histogram.js';

/** Finer than the inference buckets at the low end: a single-entity lookup answers in a fraction of a millisecond. */
const ONLINE_BUCKETS_SECONDS = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** The online feature server's Prometheus series, exported with the others on /metrics. */
export function createFeatureMetrics(registry: Registry) {
  const duration = new CellHistogram(
    'slipway_online_features_request_duration_seconds',
    'Time /get-online-features spends on a request once its body is read: lookup, TTL, transforms and encoding',
    ONLINE_BUCKETS_SECONDS,
    registry,
  );
  return {
    /** The duration histogram's cell for one online store kind (`sqlite` or `redis`). */
    onlineDuration(store: string): HistogramCell {
      return duration.cell({ store });
    },
  };
}

export type FeatureMetrics = ReturnType<typeof createFeatureMetrics>;
