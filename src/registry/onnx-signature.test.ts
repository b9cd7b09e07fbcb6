import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOnnxSignature } from './onnx-signature.js';

const fixture = (name: string) => readFile(join(import.meta.dirname, '../../test/fixtures/models', name));

describe('ONNX signatures', () => {
  it('reads names, datatypes and dynamic shapes of a plain model', async () => {
    expect(readOnnxSignature(await fixture('linear.onnx'))).toEqual({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
      mapOutputs: [],
      opsets: { '': 13 },
    });
  });

  it('maps ONNX strings to BYTES and int64 to INT64', async () => {
    const signature = readOnnxSignature(await fixture('categorical.onnx'));
    expect(signature.inputs).toEqual([
      { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
      { name: 'amount', datatype: 'FP32', shape: [-1, 1] },
    ]);
    expect(signature.outputs[0]).toEqual({ name: 'code', datatype: 'INT64', shape: [-1, 1] });
  });

  it('lists ZipMap (sequence of map) outputs apart, so serving can refuse them', async () => {
    const signature = readOnnxSignature(await fixture('logreg-zipmap.onnx'));
    expect(signature.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [-1] }]);
    expect(signature.mapOutputs).toEqual(['probabilities']);
    expect(signature.opsets).toEqual({ '': 13, 'ai.onnx.ml': 1 });
  });

  it('refuses bytes that are not an ONNX model with a clear 400', () => {
    for (const bytes of [
      new Uint8Array(),
      Buffer.from('definitely not protobuf'),
      Buffer.from([0xff, 0xff, 0xff]),
    ]) {
      expect(() => readOnnxSignature(bytes)).toThrow(
        expect.objectContaining({
          code: 'INVALID_PARAMETER_VALUE',
          message: expect.stringMatching(/not a valid ONNX model/),
        }),
      );
    }
  });
});
