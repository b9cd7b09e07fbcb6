import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { expectClose } from '../../test/support/models.js';
import {
  CITY_CODES,
  CLASSIFIER_COEFFICIENTS,
  CLASSIFIER_INTERCEPTS,
  ElementType,
  encodeModel,
  floatTensor,
  LINEAR_BIAS,
  LINEAR_WEIGHTS,
  mapType,
  node,
  sequenceType,
  tensorType,
  tensorValue,
  valueInfo,
} from '../../test/support/onnx-builder.js';
import { readOnnxSignature } from './onnx-signature.js';

const fixture = (name: string) => readFile(join(import.meta.dirname, '../../test/fixtures/models', name));

const { FLOAT, INT64, STRING, BFLOAT16, COMPLEX64 } = ElementType;

/** A one-node Identity model from `input` to `output`, for the value types the fixtures do not cover. */
const identityModel = (input: ReturnType<typeof valueInfo>, output: ReturnType<typeof valueInfo>) =>
  encodeModel({
    name: 'identity',
    nodes: [node('Identity', [input.name ?? ''], [output.name ?? ''])],
    inputs: [input],
    outputs: [output],
    opsets: { '': 13 },
  });

async function withSession<T>(file: string, use: (session: ort.InferenceSession) => Promise<T>): Promise<T> {
  const session = await ort.InferenceSession.create(await fixture(file));
  try {
    return await use(session);
  } finally {
    await session.release();
  }
}

describe('readOnnxSignature on the fixtures', () => {
  it('reads names, datatypes and dynamic shapes of the linear model', async () => {
    expect(readOnnxSignature(await fixture('linear.onnx'))).toEqual({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
      mapOutputs: [],
      opsets: { '': 13 },
    });
  });

  it('maps ONNX strings to BYTES and int64 to INT64', async () => {
    expect(readOnnxSignature(await fixture('categorical.onnx'))).toEqual({
      inputs: [
        { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
        { name: 'amount', datatype: 'FP32', shape: [-1, 1] },
      ],
      outputs: [
        { name: 'code', datatype: 'INT64', shape: [-1, 1] },
        { name: 'total', datatype: 'FP32', shape: [-1, 1] },
      ],
      mapOutputs: [],
      opsets: { '': 13, 'ai.onnx.ml': 2 },
    });
  });

  it('lists ZipMap (sequence of map) outputs apart, so serving can refuse them', async () => {
    expect(readOnnxSignature(await fixture('logreg-zipmap.onnx'))).toEqual({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
      mapOutputs: ['probabilities'],
      opsets: { '': 13, 'ai.onnx.ml': 1 },
    });
  });

  it('reads the wide models and the scikit-learn gradient-boosted model', async () => {
    for (const file of ['wide-linear.onnx', 'wide-shifted.onnx', 'wide-gather.onnx']) {
      const signature = readOnnxSignature(await fixture(file));
      expect(signature.inputs, file).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 8] }]);
      expect(signature.outputs, file).toEqual([{ name: 'variable', datatype: 'FP32', shape: [-1, 1] }]);
    }
    const gbt = readOnnxSignature(await fixture('gbt100.onnx'));
    expect(gbt.inputs.map((spec) => spec.datatype)).toEqual(['FP32']);
    expect(gbt.mapOutputs).toEqual([]);
  });
});

describe('the fixtures in ONNX Runtime', () => {
  it('loads every fixture with the inputs and outputs its signature lists', async () => {
    for (const file of ['linear.onnx', 'categorical.onnx', 'logreg-zipmap.onnx', 'wide-gather.onnx']) {
      const signature = readOnnxSignature(await fixture(file));
      await withSession(file, async (session) => {
        expect(session.inputNames, file).toEqual(signature.inputs.map((spec) => spec.name));
        expect(session.outputNames, file).toEqual([
          ...signature.outputs.map((spec) => spec.name),
          ...signature.mapOutputs,
        ]);
      });
    }
  });

  it('computes y = x·W + b with the linear model', async () => {
    const rows = [
      [1, 2, 3],
      [-0.5, 0.25, 4],
      [0, 0, 0],
      [10.5, -3.25, 0.125],
    ];
    const expected = rows.map((row) => row.reduce((sum, x, i) => sum + x * LINEAR_WEIGHTS[i]!, LINEAR_BIAS));
    const y = await withSession('linear.onnx', async (session) => {
      const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 3]);
      return (await session.run({ x })).y;
    });
    expect(y?.dims).toEqual([rows.length, 1]);
    expectClose(y?.data as Float32Array, expected, 1e-6);
  });

  it('encodes BYTES inputs with the categorical model', async () => {
    const cities = ['SFO', 'JFK', 'LHR', 'SEA'];
    const outputs = await withSession('categorical.onnx', (session) =>
      session.run({
        city: new ort.Tensor('string', cities, [cities.length, 1]),
        amount: new ort.Tensor('float32', Float32Array.from([1, 2.5, -3, 0]), [cities.length, 1]),
      }),
    );
    expect(Array.from(outputs.code?.data as BigInt64Array)).toEqual(
      cities.map((city) => BigInt(CITY_CODES[city] ?? -1)),
    );
    expect(Array.from(outputs.total?.data as Float32Array)).toEqual([2, 5, -6, 0]);
  });

  it('classifies with the ZipMap model when only the tensor output is fetched', async () => {
    const rows = [
      [1, 0, 0],
      [-2, 1, 3],
      [0, 0, 0],
    ];
    // LinearClassifier: score[c] = intercept[c] + Σ x[f]·coefficient[c][f]; the label is the best class.
    const expected = rows.map((row) => {
      const scores = [0, 1].map((c) =>
        row.reduce((sum, x, f) => sum + x * CLASSIFIER_COEFFICIENTS[c * 3 + f]!, CLASSIFIER_INTERCEPTS[c]!),
      );
      return BigInt(scores[1]! > scores[0]! ? 1 : 0);
    });
    const outputs = await withSession('logreg-zipmap.onnx', (session) =>
      session.run({ x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 3]) }, [
        'label',
      ]),
    );
    expect(Array.from(outputs.label?.data as BigInt64Array)).toEqual(expected);
  });
});

describe('readOnnxSignature on edge cases', () => {
  it('leaves out graph inputs that are initializers, as older exporters list them', () => {
    const model = encodeModel({
      name: 'old_exporter',
      nodes: [node('MatMul', ['x', 'W'], ['y'])],
      initializers: [floatTensor('W', [2, 1], [1, 2])],
      inputs: [tensorValue('x', FLOAT, ['batch', 2]), tensorValue('W', FLOAT, [2, 1])],
      outputs: [tensorValue('y', FLOAT, ['batch', 1])],
      opsets: { '': 13 },
    });
    expect(readOnnxSignature(model).inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
  });

  it('treats symbolic dims, dims without a value and zero dims as dynamic, and reads the ai.onnx domain as ""', () => {
    const model = encodeModel({
      name: 'dims',
      nodes: [node('Identity', ['x'], ['y'])],
      inputs: [
        valueInfo('x', {
          tensorType: { elemType: FLOAT, shape: { dim: [{}, { dimValue: 0 }, { dimValue: 7 }] } },
        }),
      ],
      outputs: [tensorValue('y', FLOAT, ['a', 'b', 7])],
      opsets: { 'ai.onnx': 17 },
    });
    const signature = readOnnxSignature(model);
    expect(signature.inputs[0]?.shape).toEqual([-1, -1, 7]);
    expect(signature.outputs[0]?.shape).toEqual([-1, -1, 7]);
    expect(signature.opsets).toEqual({ '': 17 });
  });

  it('lists sequence and map outputs in mapOutputs', () => {
    const model = encodeModel({
      name: 'non_tensors',
      nodes: [node('SequenceConstruct', ['x'], ['items'])],
      inputs: [tensorValue('x', FLOAT, [2])],
      outputs: [
        valueInfo('items', sequenceType(tensorType(FLOAT))),
        valueInfo('lookup', mapType(STRING, tensorType(INT64))),
      ],
      opsets: { '': 13 },
    });
    const signature = readOnnxSignature(model);
    expect(signature.outputs).toEqual([]);
    expect(signature.mapOutputs).toEqual(['items', 'lookup']);
  });

  it('refuses element types the Open Inference Protocol cannot carry, naming the value and its type', () => {
    const cases = [
      {
        model: identityModel(tensorValue('x', BFLOAT16, [1]), tensorValue('y', FLOAT, [1])),
        text: "input 'x'",
      },
      {
        model: identityModel(tensorValue('x', FLOAT, [1]), tensorValue('y', COMPLEX64, [1])),
        text: "output 'y'",
      },
      { model: identityModel(tensorValue('x', 17, [1]), tensorValue('y', FLOAT, [1])), text: "input 'x'" },
    ];
    const typeNames = ['BFLOAT16', 'COMPLEX64', 'FLOAT8E4M3FN'];
    cases.forEach(({ model, text }, i) => {
      expect(() => readOnnxSignature(model)).toThrow(
        expect.objectContaining({
          code: 'INVALID_PARAMETER_VALUE',
          message: expect.stringMatching(new RegExp(`${text} has ONNX element type ${typeNames[i]}\\b`)),
        }),
      );
    });
  });

  it('refuses inputs that are not tensors', () => {
    const model = identityModel(
      valueInfo('x', sequenceType(tensorType(FLOAT))),
      valueInfo('y', sequenceType(tensorType(FLOAT))),
    );
    expect(() => readOnnxSignature(model)).toThrow(/input 'x' is a sequence, not a tensor/);
  });

  it('refuses bytes that are not an ONNX model with a clear 400', () => {
    for (const bytes of [
      new Uint8Array(),
      Buffer.from('definitely not protobuf'),
      Buffer.from([0xff, 0xff, 0xff]),
      Buffer.from('{"format": "json"}'),
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256),
    ]) {
      expect(() => readOnnxSignature(bytes)).toThrow(
        expect.objectContaining({
          code: 'INVALID_PARAMETER_VALUE',
          status: 400,
          message: expect.stringMatching(/^The model file is not a valid ONNX model: \S/),
        }),
      );
    }
  });
});
