import { Counter, Gauge, type Registry } from 'prom-client';
import { CellHistogram } from '../core/cell-histogram.js';

const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** Serving metrics, per model and version. Histograms give p50/p95/p99 through histogram_quantile. */
export function createServingMetrics(registry: Registry) {
  const labelNames = ['model', 'version'] as const;
  /** Answered requests per model version, counted in plain numbers and added to the counter at scrape time. */
  const answered = new Map<string, { labels: { model: string; version: string }; pending: number }>();
  /** Where the queue depth is read at scrape time (the loaded models' batchers). */
  let queueDepths: () => Iterable<{ model: string; version: string; rows: number }> = () => [];
  const requests = new Counter({
    name: 'slipway_inference_requests_total',
    help: 'Inference requests by outcome (ok, bad_request, shed, timeout, error)',
    labelNames: ['model', 'version', 'outcome'] as const,
    registers: [registry],
    collect() {
      for (const entry of answered.values()) {
        if (entry.pending === 0) continue;
        this.inc({ ...entry.labels, outcome: 'ok' }, entry.pending);
        entry.pending = 0;
      }
    },
  });
  return {
    requests,
    /** The `ok` outcome's counter for one version, for the request path. */
    answeredCell(labels: { model: string; version: string }): { inc(): void } {
      const key = `${labels.model}\u0000${labels.version}`;
      let entry = answered.get(key);
      if (entry === undefined) {
        entry = { labels, pending: 0 };
        answered.set(key, entry);
        requests.inc({ ...labels, outcome: 'ok' }, 0);
      }
      const target = entry;
      return {
        inc() {
          target.pending++;
        },
      };
    },
    latency: new CellHistogram(
      'slipway_inference_request_duration_seconds',
      'Time from request decoded to response encoded',
      LATENCY_BUCKETS_SECONDS,
      registry,
    ),
    queue: new CellHistogram(
      'slipway_inference_queue_duration_seconds',
      'Time a request waited in the batching queue',
      LATENCY_BUCKETS_SECONDS,
      registry,
    ),
    compute: new CellHistogram(
      'slipway_inference_compute_duration_seconds',
      'Time one batch spent in the runtime',
      LATENCY_BUCKETS_SECONDS,
      registry,
    ),
    batchSize: new CellHistogram(
      'slipway_inference_batch_size_rows',
      'Rows per batch sent to the runtime',
      BATCH_BUCKETS,
      registry,
    ),
    queueDepth: new Gauge({
      name: 'slipway_inference_queue_depth_rows',
      help: 'Rows waiting in the batching queue',
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const q of queueDepths()) this.set({ model: q.model, version: q.version }, q.rows);
      },
    }),
    /** Tells the queue-depth gauge where to read the queues when it is scraped. */
    readQueueDepthsFrom(source: () => Iterable<{ model: string; version: string; rows: number }>): void {
      queueDepths = source;
    },
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
