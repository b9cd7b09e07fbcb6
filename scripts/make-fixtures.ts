/**
 * Writes the small ONNX test models under test/fixtures/models, deterministically, with onnx-proto's classes.
 *
 *   npx tsx scripts/make-fixtures.ts
 *
 * - linear.onnx: y = x·W + b, x FP32 [N, 3], y FP32 [N, 1]
 * - logreg-zipmap.onnx: ai.onnx.ml LinearClassifier + ZipMap, the shape sklearn exports by default (not servable)
 * - categorical.onnx: a BYTES input mapped to int64 codes by ai.onnx.ml LabelEncoder, plus a numeric input
 * - wide-linear.onnx, wide-shifted.onnx: y = x·W + b over 8 features (output `variable`), the second shifted by +3
 * - wide-gather.onnx: the same predictions, but it fails (index out of range) on rows whose first feature is >= 10
 * The 100-tree gradient-boosted model comes from scripts/make-gbt-fixture.py (scikit-learn).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const STRING = onnx.TensorProto.DataType.STRING;

export const LINEAR_WEIGHTS = [0.5, -1.25, 2];
export const LINEAR_BIAS = 0.75;

const dims = (shape: (number | string)[]) => ({
  dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
});
const tensorValue = (name: string, elemType: number, shape: (number | string)[]) =>
  onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: dims(shape) } } });

const model = (graph: onnxProto.onnx.IGraphProto, opsets: Record<string, number>) =>
  onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'slipway-fixtures',
      opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
      graph,
    }),
  ).finish();

const attribute = (
  name: string,
  value: { floats?: number[]; ints?: number[]; strings?: string[]; s?: string; i?: number },
) => {
  const encoder = new TextEncoder();
  if (value.floats !== undefined)
    return { name, type: onnx.AttributeProto.AttributeType.FLOATS, floats: value.floats };
  if (value.ints !== undefined)
    return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value.ints };
  if (value.strings !== undefined) {
    return {
      name,
      type: onnx.AttributeProto.AttributeType.STRINGS,
      strings: value.strings.map((s) => encoder.encode(s)),
    };
  }
  if (value.s !== undefined)
    return { name, type: onnx.AttributeProto.AttributeType.STRING, s: encoder.encode(value.s) };
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value.i ?? 0 };
};

export function linearModel(): Uint8Array {
  return model(
    {
      name: 'linear',
      node: [
        { opType: 'MatMul', input: ['x', 'W'], output: ['xw'] },
        { opType: 'Add', input: ['xw', 'b'], output: ['y'] },
      ],
      initializer: [
        { name: 'W', dataType: FLOAT, dims: [3, 1], floatData: LINEAR_WEIGHTS },
        { name: 'b', dataType: FLOAT, dims: [1], floatData: [LINEAR_BIAS] },
      ],
      input: [tensorValue('x', FLOAT, ['N', 3])],
      output: [tensorValue('y', FLOAT, ['N', 1])],
    },
    { '': 13 },
  );
}

export function zipmapClassifier(): Uint8Array {
  return model(
    {
      name: 'logreg_zipmap',
      node: [
        {
          opType: 'LinearClassifier',
          domain: 'ai.onnx.ml',
          input: ['x'],
          output: ['label', 'scores'],
          attribute: [
            attribute('coefficients', { floats: [0.3, -0.2, 0.1, -0.3, 0.2, -0.1] }),
            attribute('intercepts', { floats: [0.05, -0.05] }),
            attribute('classlabels_ints', { ints: [0, 1] }),
            attribute('post_transform', { s: 'SOFTMAX' }),
          ],
        },
        {
          opType: 'ZipMap',
          domain: 'ai.onnx.ml',
          input: ['scores'],
          output: ['probabilities'],
          attribute: [attribute('classlabels_int64s', { ints: [0, 1] })],
        },
      ],
      input: [tensorValue('x', FLOAT, ['N', 3])],
      output: [
        tensorValue('label', INT64, ['N']),
        onnx.ValueInfoProto.create({
          name: 'probabilities',
          type: {
            sequenceType: {
              elemType: { mapType: { keyType: INT64, valueType: { tensorType: { elemType: FLOAT } } } },
            },
          },
        }),
      ],
    },
    { '': 13, 'ai.onnx.ml': 1 },
  );
}

/** `code` = LabelEncoder(city) as int64 (unknown cities map to -1), `total` = amount * 2. */
export function categoricalModel(): Uint8Array {
  return model(
    {
      name: 'categorical',
      node: [
        {
          opType: 'LabelEncoder',
          domain: 'ai.onnx.ml',
          input: ['city'],
          output: ['code'],
          attribute: [
            attribute('keys_strings', { strings: ['SEA', 'SFO', 'JFK'] }),
            attribute('values_int64s', { ints: [0, 1, 2] }),
            attribute('default_int64', { i: -1 }),
          ],
        },
        { opType: 'Add', input: ['amount', 'amount'], output: ['total'] },
      ],
      input: [tensorValue('city', STRING, ['N', 1]), tensorValue('amount', FLOAT, ['N', 1])],
      output: [tensorValue('code', INT64, ['N', 1]), tensorValue('total', FLOAT, ['N', 1])],
    },
    { '': 13, 'ai.onnx.ml': 2 },
  );
}

const WIDE_WEIGHTS = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, 0.05, -0.15];

/** 8 features in, `variable` out, like the gbt100 fixture: versions of one endpoint share this signature. */
export function wideLinearModel(bias: number, failOnLargeFirstFeature = false): Uint8Array {
  const nodes: onnxProto.onnx.INodeProto[] = [
    { opType: 'MatMul', input: ['x', 'W'], output: ['xw'] },
    { opType: 'Add', input: ['xw', 'b'], output: [failOnLargeFirstFeature ? 'linear' : 'variable'] },
  ];
  const initializer: onnxProto.onnx.ITensorProto[] = [
    { name: 'W', dataType: FLOAT, dims: [8, 1], floatData: WIDE_WEIGHTS },
    { name: 'b', dataType: FLOAT, dims: [1], floatData: [bias] },
  ];
  if (failOnLargeFirstFeature) {
    // idx = int(x[:, 0]); Gather(table, idx) raises for idx outside [0, 10); its value is multiplied by 0.
    nodes.push(
      { opType: 'Slice', input: ['x', 'starts', 'ends', 'axes'], output: ['first'] },
      { opType: 'Cast', input: ['first'], output: ['index'], attribute: [attribute('to', { i: INT64 })] },
      {
        opType: 'Gather',
        input: ['table', 'index'],
        output: ['looked_up'],
        attribute: [attribute('axis', { i: 0 })],
      },
      { opType: 'Mul', input: ['looked_up', 'zero'], output: ['nothing'] },
      { opType: 'Add', input: ['linear', 'nothing'], output: ['variable'] },
    );
    initializer.push(
      { name: 'starts', dataType: INT64, dims: [1], int64Data: [0] },
      { name: 'ends', dataType: INT64, dims: [1], int64Data: [1] },
      { name: 'axes', dataType: INT64, dims: [1], int64Data: [1] },
      { name: 'table', dataType: FLOAT, dims: [10], floatData: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { name: 'zero', dataType: FLOAT, dims: [1], floatData: [0] },
    );
  }
  return model(
    {
      name: 'wide',
      node: nodes,
      initializer,
      input: [tensorValue('x', FLOAT, ['N', 8])],
      output: [tensorValue('variable', FLOAT, ['N', 1])],
    },
    { '': 13 },
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = join(import.meta.dirname, '../test/fixtures/models');
  await writeFile(join(dir, 'linear.onnx'), linearModel());
  await writeFile(join(dir, 'logreg-zipmap.onnx'), zipmapClassifier());
  await writeFile(join(dir, 'categorical.onnx'), categoricalModel());
  await writeFile(join(dir, 'wide-linear.onnx'), wideLinearModel(0));
  await writeFile(join(dir, 'wide-shifted.onnx'), wideLinearModel(3));
  await writeFile(join(dir, 'wide-gather.onnx'), wideLinearModel(0, true));
  console.log(`wrote the fixture models to ${dir}`);
}
