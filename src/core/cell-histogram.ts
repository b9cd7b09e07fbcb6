import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** One label set's histogram: plain counters that the request path updates without hashing labels. */
export interface HistogramCell {
  observe(value: number): void;
}

/**
 * A labelled Prometheus histogram whose cells are looked up once per label set (a loaded model version, an
 * online store) and then cost an array increment per observation; prom-client hashes and validates the labels on
 * every call, which a hot request path would pay on every request. Exposed in prom-client's format through the
 * registry.
 */
export class CellHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<
    string,
    { labels: Record<string, string>; counts: Float64Array; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  cell(labels: Record<string, string>): HistogramCell {
    const key = JSON.stringify(labels);
    let entry = this.cells.get(key);
    if (entry === undefined) {
      entry = { labels, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.cells.set(key, entry);
    }
    const target = entry;
    const bounds = this.buckets;
    return {
      observe(value: number) {
        target.sum += value;
        target.count++;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= (bounds[i] as number)) {
            target.counts[i] = (target.counts[i] as number) + 1;
            return;
          }
        }
      },
    };
  }

  async get(): Promise<Omit<MetricObjectWithValues<MetricValue<string>>, 'collect'>> {
    const values: MetricValue<string>[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels, counts, sum, count } of this.cells.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += counts[i] as number;
        values.push({
          labels: { le },
          sharedLabels: labels,
          value: cumulative,
          metricName: bucketName,
        } as never);
      });
      values.push({
        labels: { le: '+Inf' },
        sharedLabels: labels,
        value: count,
        metricName: bucketName,
      } as never);
      values.push({ labels: {}, sharedLabels: labels, value: sum, metricName: `${this.name}_sum` } as never);
      values.push({
        labels: {},
        sharedLabels: labels,
        value: count,
        metricName: `${this.name}_count`,
      } as never);
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      aggregator: this.aggregator,
      values,
    };
  }

  /** Zeroes every cell (the request path holds them, so they stay). */
  reset(): void {
    for (const cell of this.cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
