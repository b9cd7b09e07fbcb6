import type { PayloadRecord } from '../serving/index.js';
import { PREDICTION_COLUMN } from './dataset-profile.js';

/** Which output is the prediction: for a classifier, P(class 1) is column `index` of `output`. */
export interface PredictionSpec {
  output: string;
  /** Column of the output's rows (1 for `probabilities` of a binary classifier, 0 for a single value). */
  index: number;
  /** Output holding the predicted class, when the model has one. */
  labelOutput?: string;
}

/**
 * A logged request as columns: an input of width 1 keeps its name, a wider one becomes `name[0]`, `name[1]`, …;
 * the prediction becomes the `prediction` column. `violation` is set when the request's feature columns differ
 * from `expected` (a column missing or one the reference does not know).
 */
export function recordColumns(
  record: PayloadRecord,
  expected: ReadonlySet<string>,
  prediction: PredictionSpec,
): { columns: Record<string, unknown[]>; violation: boolean } {
  const rows = Math.max(record.rows, 1);
  const columns: Record<string, unknown[]> = {};
  let violation = false;
  for (const [name, values] of Object.entries(record.inputs)) {
    const width = values.length / rows;
    if (width === 1) columns[name] = values;
    else {
      for (let j = 0; j < width; j++) columns[`${name}[${j}]`] = strided(values, j, width, rows);
    }
  }
  let present = 0;
  for (const name of Object.keys(columns)) {
    if (expected.has(name)) present++;
    else violation = true;
  }
  if (present < [...expected].filter((c) => c !== PREDICTION_COLUMN).length) violation = true;
  const predicted = predictionOf(record, prediction);
  if (predicted !== undefined) columns[PREDICTION_COLUMN] = predicted.values;
  return { columns, violation };
}

/** The prediction of each row (and the predicted class, when the model outputs one). */
export function predictionOf(
  record: PayloadRecord,
  spec: PredictionSpec,
): { values: number[]; labels?: number[] } | undefined {
  const rows = Math.max(record.rows, 1);
  const output = record.outputs[spec.output];
  if (output === undefined) return undefined;
  const width = output.length / rows;
  if (!Number.isInteger(width) || spec.index >= width) return undefined;
  const values = strided(output, spec.index, width, rows).map(Number);
  const labelOutput = spec.labelOutput === undefined ? undefined : record.outputs[spec.labelOutput];
  if (labelOutput !== undefined && labelOutput.length === rows)
    return { values, labels: labelOutput.map(Number) };
  return { values };
}

function strided(values: readonly unknown[], offset: number, width: number, rows: number): unknown[] {
  const out = new Array<unknown>(rows);
  for (let i = 0; i < rows; i++) out[i] = values[i * width + offset];
  return out;
}
