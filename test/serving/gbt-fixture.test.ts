import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { expectClose, fixturesDir as fixtures } from '../support/models.js';

/** The benchmark model, converted by our own script, predicts what scikit-learn predicts. */
describe('gbt100 fixture', () => {
  it('equals scikit-learn predictions within 1e-5 on 200 reference rows', async () => {
    const reference = JSON.parse(await readFile(join(fixtures, 'gbt100-reference.json'), 'utf8')) as {
      inputs: number[][];
      predictions: number[];
    };
    const session = await ort.InferenceSession.create(await readFile(join(fixtures, 'gbt100.onnx')));
    const result = await session.run({
      x: new ort.Tensor('float32', Float32Array.from(reference.inputs.flat()), [reference.inputs.length, 8]),
    });
    const predicted = result.variable?.data as Float32Array;
    expect(predicted).toHaveLength(200);
    expectClose(predicted, reference.predictions, 1e-5);
    await session.release();
  });
});
