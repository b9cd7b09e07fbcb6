// Fits y = a * x to the points (least squares), times the `scale` param, and logs a metric to its tracking run
// with the plain MLflow REST API: the runner sets MLFLOW_TRACKING_URI and MLFLOW_RUN_ID for it.
import fs from 'node:fs';
import path from 'node:path';

const rows = fs
  .readFileSync(process.env.SLIPWAY_INPUT_DATA, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',').map(Number));
const slope = rows.reduce((s, [x, y]) => s + x * y, 0) / rows.reduce((s, [x]) => s + x * x, 0);
const model = { slope: slope * Number(process.env.SLIPWAY_PARAM_SCALE ?? 1) };
fs.writeFileSync(path.join(process.env.SLIPWAY_OUTPUT_DIR, 'model.json'), JSON.stringify(model));
console.log('trained', model);

fetch(`${process.env.MLFLOW_TRACKING_URI}/api/2.0/mlflow/runs/log-metric`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    run_id: process.env.MLFLOW_RUN_ID,
    key: 'slope',
    value: model.slope,
    timestamp: Date.now(),
    step: 0,
  }),
}).then((response) => {
  if (!response.ok) process.exit(1);
});
