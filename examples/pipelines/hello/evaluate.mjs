// Scores the upstream model (SLIPWAY_INPUT_MODEL is a local copy of train's output) on the data.
import fs from 'node:fs';
import path from 'node:path';

const { slope } = JSON.parse(fs.readFileSync(process.env.SLIPWAY_INPUT_MODEL, 'utf8'));
const rows = fs
  .readFileSync(process.env.SLIPWAY_INPUT_DATA, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',').map(Number));
const mae = rows.reduce((s, [x, y]) => s + Math.abs(y - slope * x), 0) / rows.length;
fs.writeFileSync(path.join(process.env.SLIPWAY_OUTPUT_DIR, 'report.json'), JSON.stringify({ mae }));
console.log('mae', mae);
