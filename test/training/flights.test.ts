import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainFlightsModel } from '../../src/quickstart/flights-model.js';
import { createOnnxRuntime, type ModelRuntime } from '../../src/serving/index.js';
import { predict, type TabularData } from '../../src/training/index.js';
import { startTestServer, type TestServer } from '../support/slipway.js';

/** The quickstart's trainer on the real flights data: trains, serves raw features, logs and registers. */
describe('the flights delay model (src/quickstart/flights-model.ts)', () => {
  let runtime: ModelRuntime;
  let server: TestServer;
  beforeAll(async () => {
    runtime = createOnnxRuntime({ workers: 1 });
    server = await startTestServer();
  });
  afterAll(async () => {
    await runtime?.close();
    await server?.close();
  });

  it('trains a delay classifier whose ONNX model takes the raw columns', async () => {
    const { result, logged } = await trainFlightsModel({
      sampleRows: 20_000,
      where: "date < '2001-05-01'",
      gbt: { trees: 20 },
      trackingUri: server.url,
      registerAs: 'flights',
      alias: 'champion',
    });
    // Delays are hard to predict from schedule alone; the model must still beat chance clearly.
    expect(result.metrics.holdout_roc_auc).toBeGreaterThan(0.6);
    expect(logged?.version).toBe('1');

    const detail = await server.client.resolveModel('flights@champion');
    expect(detail.signature?.inputs.map((i) => `${i.name}:${i.datatype}`)).toEqual([
      'distance:FP32',
      'hour:FP32',
      'day_of_week:FP32',
      'origin:BYTES',
      'destination:BYTES',
    ]);
    expect(detail.card.params).toMatchObject({ algorithm: 'gbt', label: 'delayed' });
    expect(detail.lineage.datasets[0]?.name).toBe('flights-3m.parquet');

    // Raw rows, one with an airport the model never saw.
    const rows: TabularData = {
      rowCount: 3,
      numeric: {
        distance: Float64Array.of(1000, 300, 2500),
        hour: Float64Array.of(8, 19, 23),
        day_of_week: Float64Array.of(1, 5, 7),
      },
      categorical: { origin: ['SEA', 'ORD', 'ZZZ'], destination: ['SFO', 'LGA', 'JFK'] },
    };
    const model = await runtime.load(result.onnx);
    const out = await model.infer({
      distance: {
        datatype: 'FP32',
        shape: [3, 1],
        data: Float32Array.from(rows.numeric.distance as Float64Array),
      },
      hour: { datatype: 'FP32', shape: [3, 1], data: Float32Array.from(rows.numeric.hour as Float64Array) },
      day_of_week: {
        datatype: 'FP32',
        shape: [3, 1],
        data: Float32Array.from(rows.numeric.day_of_week as Float64Array),
      },
      origin: { datatype: 'BYTES', shape: [3, 1], data: rows.categorical.origin as string[] },
      destination: { datatype: 'BYTES', shape: [3, 1], data: rows.categorical.destination as string[] },
    });
    const expected = predict(result.model, rows);
    const probabilities = out.probabilities?.data as Float32Array;
    for (let i = 0; i < 3; i++) {
      expect(Math.abs((probabilities[2 * i + 1] as number) - (expected[i] as number))).toBeLessThan(1e-5);
    }
    await model.dispose();
  });
});
