import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createServingMetrics } from './metrics.js';

const linesOf = (text: string, name: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .sort();

describe('serving metrics', () => {
  it('expose the histogram cells exactly as prom-client exposes the same observations', async () => {
    const ours = new Registry();
    const metrics = createServingMetrics(ours);
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'slipway_inference_request_duration_seconds',
      help: 'x',
      labelNames: ['model', 'version'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [theirs],
    });
    const observations = [0.0001, 0.0005, 0.0007, 0.003, 0.003, 0.04, 0.9, 7];
    for (const [version, share] of [
      ['1', 1],
      ['2', 3],
    ] as const) {
      const cell = metrics.latency.cell({ model: 'm', version });
      for (const value of observations) {
        for (let i = 0; i < share; i++) {
          cell.observe(value);
          reference.observe({ model: 'm', version }, value);
        }
      }
    }
    const name = 'slipway_inference_request_duration_seconds';
    expect(linesOf(await ours.metrics(), name)).toEqual(linesOf(await theirs.metrics(), name));
    // A reset zeroes the cells the request path holds; they keep counting afterwards.
    const held = metrics.latency.cell({ model: 'm', version: '1' });
    ours.resetMetrics();
    theirs.resetMetrics();
    held.observe(0.003);
    reference.observe({ model: 'm', version: '1' }, 0.003);
    const versionOne = (text: string) => linesOf(text, name).filter((line) => line.includes('version="1"'));
    expect(versionOne(await ours.metrics())).toEqual(versionOne(await theirs.metrics()));
  });

  it('adds answered requests to the counter and reads queue depths when scraped', async () => {
    const registry = new Registry();
    const metrics = createServingMetrics(registry);
    const ok = metrics.answeredCell({ model: 'm', version: '1' });
    expect(await registry.metrics()).toContain(
      'slipway_inference_requests_total{model="m",version="1",outcome="ok"} 0',
    );
    ok.inc();
    ok.inc();
    metrics.readQueueDepthsFrom(() => [{ model: 'm', version: '1', rows: 7 }]);
    const text = await registry.metrics();
    expect(text).toContain('slipway_inference_requests_total{model="m",version="1",outcome="ok"} 2');
    expect(text).toContain('slipway_inference_queue_depth_rows{model="m",version="1"} 7');
    ok.inc();
    expect(await registry.metrics()).toContain(
      'slipway_inference_requests_total{model="m",version="1",outcome="ok"} 3',
    );
  });
});
