import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** Serving metrics, per model and version. Histograms give p50/p95/p99 through histogram_quantile. */
export function createServingMetrics(registry: Registry) {
  const labelNames = ['model', 'version'] as const;
  return {
    requests: new Counter({
      name: 'slipway_inference_requests_total',
      help: 'Inference requests by outcome (ok, bad_request, shed, timeout, error)',
      labelNames: ['model', 'version', 'outcome'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'slipway_inference_request_duration_seconds',
      help: 'Time from request decoded to response encoded',
      labelNames,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    queue: new Histogram({
      name: 'slipway_inference_queue_duration_seconds',
      help: 'Time a request waited in the batching queue',
      labelNames,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    compute: new Histogram({
      name: 'slipway_inference_compute_duration_seconds',
      help: 'Time one batch spent in the runtime',
      labelNames,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'slipway_inference_batch_size_rows',
      help: 'Rows per batch sent to the runtime',
      labelNames,
      buckets: BATCH_BUCKETS,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'slipway_inference_queue_depth_rows',
      help: 'Rows waiting in the batching queue',
      labelNames,
      registers: [registry],
    }),
    modelsLoaded: new Gauge({
      name: 'slipway_models_loaded',
      help: 'Model versions loaded and ready',
      registers: [registry],
    }),
    payloadLogged: new Counter({
      name: 'slipway_payload_log_records_total',
      help: 'Inference records written to the payload log',
      registers: [registry],
    }),
    payloadDropped: new Counter({
      name: 'slipway_payload_log_dropped_total',
      help: 'Inference records dropped because the payload log sink was full or failing',
      registers: [registry],
    }),
  };
}

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
