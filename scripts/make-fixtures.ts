/**
 * Writes the small ONNX test models under test/fixtures/models, deterministically (fixed weights, the same
 * bytes on every run), with the onnx-proto builder in test/support/onnx-builder.ts.
 *
 *   npx tsx scripts/make-fixtures.ts
 *
 * - linear.onnx: y = x·W + b, x FP32 [N, 3], y FP32 [N, 1]
 * - logreg-zipmap.onnx: ai.onnx.ml LinearClassifier + ZipMap, the shape sklearn exports by default (not servable)
 * - categorical.onnx: a BYTES input mapped to int64 codes by ai.onnx.ml LabelEncoder, plus a numeric input
 * - wide-linear.onnx, wide-shifted.onnx: y = x·W + b over 8 features (output `variable`), the second shifted by +3
 * - wide-gather.onnx: the same predictions, but it fails (index out of range) on rows whose first feature is >= 10
 * - wide-slow.onnx: same signature, a few ms of dense compute per row (a shadow many times slower than the champion)
 * The 100-tree gradient-boosted model comes from scripts/make-gbt-fixture.py (scikit-learn).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  attribute,
  categoricalModel,
  ElementType,
  encodeModel,
  floatTensor,
  int64Tensor,
  linearModel,
  node,
  tensorValue,
  zipmapClassifier,
} from '../test/support/onnx-builder.js';

const { FLOAT, INT64 } = ElementType;

const WIDE_WEIGHTS = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, 0.05, -0.15];

/** 8 features in, `variable` out, like the gbt100 fixture: versions of one endpoint share this signature. */
export function wideLinearModel(bias: number, failOnLargeFirstFeature = false): Uint8Array {
  const nodes = [
    node('MatMul', ['x', 'W'], ['xw']),
    node('Add', ['xw', 'b'], [failOnLargeFirstFeature ? 'linear' : 'variable']),
  ];
  const initializers = [floatTensor('W', [8, 1], WIDE_WEIGHTS), floatTensor('b', [1], [bias])];
  if (failOnLargeFirstFeature) {
    // idx = int(x[:, 0]); Gather(table, idx) raises for idx outside [0, 10); its value is multiplied by 0.
    nodes.push(
      node('Slice', ['x', 'starts', 'ends', 'axes'], ['first']),
      node('Cast', ['first'], ['index'], { attributes: [attribute.int('to', INT64)] }),
      node('Gather', ['table', 'index'], ['looked_up'], { attributes: [attribute.int('axis', 0)] }),
      node('Mul', ['looked_up', 'zero'], ['nothing']),
      node('Add', ['linear', 'nothing'], ['variable']),
    );
    initializers.push(
      int64Tensor('starts', [1], [0]),
      int64Tensor('ends', [1], [1]),
      int64Tensor('axes', [1], [1]),
      floatTensor('table', [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      floatTensor('zero', [1], [0]),
    );
  }
  return encodeModel({
    name: 'wide',
    nodes,
    initializers,
    inputs: [tensorValue('x', FLOAT, ['N', 8])],
    outputs: [tensorValue('variable', FLOAT, ['N', 1])],
    opsets: { '': 13 },
  });
}

/** Deterministic pseudo-random weights in [-scale, scale] (a linear congruential generator). */
function weights(count: number, seed: number, scale: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 0x100000000 - 0.5) * 2 * scale;
  });
}

/** Same signature as the wide models, with `layers` dense tanh layers of `width`: a few ms per row on one core. */
export function wideSlowModel(layers = 400, width = 256): Uint8Array {
  const nodes = [node('MatMul', ['x', 'W_in'], ['h0'])];
  for (let i = 0; i < layers; i++) {
    nodes.push(node('MatMul', [`h${i}`, 'W_hidden'], [`m${i}`]), node('Tanh', [`m${i}`], [`h${i + 1}`]));
  }
  nodes.push(node('MatMul', [`h${layers}`, 'W_out'], ['variable']));
  return encodeModel({
    name: 'wide_slow',
    nodes,
    initializers: [
      floatTensor('W_in', [8, width], weights(8 * width, 1, 0.5)),
      floatTensor('W_hidden', [width, width], weights(width * width, 2, 1 / Math.sqrt(width))),
      floatTensor('W_out', [width, 1], weights(width, 3, 0.1)),
    ],
    inputs: [tensorValue('x', FLOAT, ['N', 8])],
    outputs: [tensorValue('variable', FLOAT, ['N', 1])],
    opsets: { '': 13 },
  });
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const dir = join(import.meta.dirname, '../test/fixtures/models');
  const models: Record<string, Uint8Array> = {
    'linear.onnx': linearModel(),
    'logreg-zipmap.onnx': zipmapClassifier(),
    'categorical.onnx': categoricalModel(),
    'wide-linear.onnx': wideLinearModel(0),
    'wide-shifted.onnx': wideLinearModel(3),
    'wide-gather.onnx': wideLinearModel(0, true),
    'wide-slow.onnx': wideSlowModel(),
  };
  for (const [file, bytes] of Object.entries(models)) await writeFile(join(dir, file), bytes);
  console.log(`wrote ${Object.keys(models).join(', ')} to ${dir}`);
}
