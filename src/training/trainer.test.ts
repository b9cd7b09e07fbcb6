import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classificationMetrics, regressionMetrics } from '../monitoring/index.js';
import { createOnnxRuntime, type ModelRuntime, type TensorMap } from '../serving/index.js';
import { seededRandom, splitHoldout, type TabularData } from './dataset.js';
import { fitModel, predict, trainTabular } from './trainer.js';

const CITY_EFFECT: Record<string, number> = { SEA: -1.2, SFO: 0.4, JFK: 1.1, ORD: 0 };
const CITIES = Object.keys(CITY_EFFECT);

/** A known relation: P(y = 1) = sigmoid(1.5·a - 0.4·b + effect(city) + 1), with some values missing. */
function synthetic(rows: number, seed: number, kind: 'classification' | 'regression'): TabularData {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const a = new Float64Array(rows);
  const b = new Float64Array(rows);
  const city: string[] = [];
  const label = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    a[i] = gaussian();
    b[i] = random() * 10;
    city.push(CITIES[Math.floor(random() * CITIES.length)] as string);
    const z =
      1.5 * (a[i] as number) - 0.4 * (b[i] as number) + (CITY_EFFECT[city[i] as string] as number) + 1;
    label[i] =
      kind === 'classification' ? (random() < 1 / (1 + Math.exp(-z)) ? 1 : 0) : 3 * z + 0.5 * gaussian();
    if (random() < 0.03) a[i] = Number.NaN;
  }
  return { rowCount: rows, numeric: { a, b }, categorical: { city }, label };
}

/** The rows as the served model's inputs: one [N, 1] tensor per raw feature. */
function feeds(data: TabularData): TensorMap {
  const n = data.rowCount;
  return {
    a: { datatype: 'FP32', shape: [n, 1], data: Float32Array.from(data.numeric.a as Float64Array) },
    b: { datatype: 'FP32', shape: [n, 1], data: Float32Array.from(data.numeric.b as Float64Array) },
    city: { datatype: 'BYTES', shape: [n, 1], data: [...(data.categorical.city as string[])] },
  };
}

const features = { numeric: ['a', 'b'], categorical: ['city'] };

describe('tabular trainer', () => {
  let runtime: ModelRuntime;
  beforeAll(() => {
    runtime = createOnnxRuntime({ workers: 1 });
  });
  afterAll(async () => runtime?.close());

  // Rows the training never saw, including a category it never saw and missing numerics.
  const unseen: TabularData = {
    rowCount: 4,
    numeric: { a: Float64Array.of(0.5, Number.NaN, -1, 2), b: Float64Array.of(1, 5, Number.NaN, 9) },
    categorical: { city: ['LAX', 'SEA', '', 'JFK'] },
  };

  for (const algorithm of ['logreg', 'gbt'] as const) {
    it(`${algorithm}: learns the relation and ONNX Runtime gives the same probabilities`, async () => {
      const data = synthetic(6000, 1, 'classification');
      const result = trainTabular(data, { algorithm, features, labelName: 'y', gbt: { trees: 40 } });
      expect(result.task).toBe('classification');
      expect(result.metrics.holdout_roc_auc).toBeGreaterThan(0.8);
      expect(result.params).toMatchObject({ algorithm, label: 'y' });

      const model = await runtime.load(result.onnx, { name: algorithm });
      expect(model.io.inputs.map((i) => [i.name, i.datatype])).toEqual([
        ['a', 'FP32'],
        ['b', 'FP32'],
        ['city', 'BYTES'],
      ]);
      const { holdout } = splitHoldout(data, 0.2, 42);
      for (const rows of [holdout, unseen]) {
        const expected = predict(result.model, rows);
        const out = await model.infer(feeds(rows));
        const probabilities = out.probabilities;
        expect(probabilities?.shape).toEqual([rows.rowCount, 2]);
        const p = probabilities?.data as Float32Array;
        for (let i = 0; i < rows.rowCount; i++) {
          expect(Math.abs((p[2 * i + 1] as number) - (expected[i] as number))).toBeLessThan(1e-5);
          expect(Math.abs((p[2 * i] as number) + (p[2 * i + 1] as number) - 1)).toBeLessThan(1e-6);
        }
        const labels = out.label?.data as BigInt64Array;
        expect(out.label?.shape).toEqual([rows.rowCount]);
        for (let i = 0; i < rows.rowCount; i++) {
          expect(Number(labels[i])).toBe((p[2 * i + 1] as number) >= 0.5 ? 1 : 0);
        }
      }
      // The served model's AUC is the trainer's.
      const served = (await model.infer(feeds(holdout))).probabilities?.data as Float32Array;
      const scores = Float64Array.from({ length: holdout.rowCount }, (_, i) => served[2 * i + 1] as number);
      expect(
        classificationMetrics(holdout.label as Float64Array, scores).roc_auc -
          (result.metrics.holdout_roc_auc ?? 0),
      ).toBeLessThan(1e-4);
      await model.dispose();
    });
  }

  for (const algorithm of ['linear', 'gbt'] as const) {
    it(`${algorithm} regression: fits and ONNX Runtime gives the same values`, async () => {
      const data = synthetic(4000, 2, 'regression');
      const result = trainTabular(data, { algorithm, features, gbt: { trees: 60 } });
      expect(result.task).toBe('regression');
      expect(result.metrics.holdout_r2).toBeGreaterThan(0.8);
      const model = await runtime.load(result.onnx, { name: algorithm });
      const { holdout } = splitHoldout(data, 0.2, 42);
      for (const rows of [holdout, unseen]) {
        const expected = predict(result.model, rows);
        const out = await model.infer(feeds(rows));
        expect(out.variable?.shape).toEqual([rows.rowCount, 1]);
        const values = out.variable?.data as Float32Array;
        for (let i = 0; i < rows.rowCount; i++) {
          const e = expected[i] as number;
          expect(Math.abs((values[i] as number) - e)).toBeLessThan(1e-5 * Math.max(1, Math.abs(e)));
        }
      }
      const r2 = regressionMetrics(holdout.label as Float64Array, predict(result.model, holdout)).r2;
      expect(Math.abs(r2 - (result.metrics.holdout_r2 ?? 0))).toBeLessThan(1e-9);
      await model.dispose();
    });
  }

  it('gbt beats logistic regression on a relation a line cannot draw', () => {
    const random = seededRandom(5);
    const rows = 5000;
    const a = Float64Array.from({ length: rows }, () => random() * 4 - 2);
    const label = Float64Array.from(a, (x) => (random() < (Math.abs(x) < 1 ? 0.85 : 0.15) ? 1 : 0));
    const data: TabularData = { rowCount: rows, numeric: { a }, categorical: {}, label };
    const options = { features: { numeric: ['a'], categorical: [] }, gbt: { trees: 30 } };
    const gbt = trainTabular(data, { ...options, algorithm: 'gbt' });
    const logreg = trainTabular(data, { ...options, algorithm: 'logreg' });
    expect(gbt.metrics.holdout_roc_auc).toBeGreaterThan(0.8);
    expect(logreg.metrics.holdout_roc_auc).toBeLessThan(0.6);
  });

  it('refuses unusable input with the field named', () => {
    const data = synthetic(100, 3, 'regression');
    expect(() => fitModel(data, { algorithm: 'logreg', features, labelName: 'y' })).toThrow(
      /Label 'y' is .* expects 0 or 1/,
    );
    expect(() =>
      fitModel(data, { algorithm: 'gbt', features: { numeric: ['label'], categorical: [] } }),
    ).toThrow(/Feature 'label' has the name of a model output/);
    expect(() =>
      fitModel(data, { algorithm: 'gbt', features: { numeric: ['nope'], categorical: [] } }),
    ).toThrow(/Numeric feature 'nope' is not in the data/);
    expect(() => fitModel(data, { algorithm: 'gbt', features: { numeric: [], categorical: [] } })).toThrow(
      /No features/,
    );
  });
});
