/**
 * Drift report benchmark on real data: 1,000,000 reference rows (Jan–Feb 2001 flights) against 100,000 current
 * rows (May), six features (delay, distance, origin, destination, hour, weekday).
 *
 *   npx tsx bench/monitor-drift.ts [--repeat 3]
 *
 * Timed per phase: reading the rows with DuckDB; profiling the reference (bins, sketches, counts); profiling the
 * current window against it; comparing the two profiles (every test, data quality, the verdict). Baseline, in the
 * same run: the same tests on the raw rows (exact KS/Wasserstein/Jensen–Shannon over all values, as Evidently
 * computes them), so the ratio shows what profiles cost or save. Also reported: the profile's JSON size, which
 * is what a window costs to store and ship between replicas instead of its rows.
 */
import { parseArgs } from 'node:util';
import { flightsParquetPath } from '../src/core/sample-data.js';
import {
  compareProfiles,
  detectDatasetDrift,
  profileColumns,
  profileReference,
  readColumns,
} from '../src/monitoring/index.js';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' } } });
const repeat = Number(values.repeat);
const file = flightsParquetPath();
const select = `SELECT delay, distance, origin, destination, hour(date)::DOUBLE AS hour, dayofweek(date)::DOUBLE AS weekday FROM '${file}'`;

const time = async <T>(work: () => Promise<T> | T): Promise<[T, number]> => {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const phases: Record<string, number[]> = { read: [], reference: [], current: [], compare: [], raw: [] };
let report: ReturnType<typeof compareProfiles> | undefined;
let profileBytes = 0;
let rawDrifted: string[] = [];
for (let i = 0; i < repeat; i++) {
  const [[reference, current], read] = await time(() =>
    Promise.all([
      readColumns({ sql: `${select} WHERE month(date) <= 2 LIMIT 1000000` }),
      readColumns({ sql: `${select} WHERE month(date) = 5 LIMIT 100000` }),
    ]),
  );
  const [{ schema, profile }, referenceMs] = await time(() => profileReference(reference));
  const [currentProfile, currentMs] = await time(() => profileColumns(current, schema));
  const [comparison, compareMs] = await time(() => compareProfiles(profile, currentProfile));
  const [raw, rawMs] = await time(() =>
    detectDatasetDrift(
      Object.keys(reference).map((name) => {
        const numeric = schema[name]?.kind === 'numeric';
        const clean = (xs: readonly unknown[]) => xs.filter((x) => x !== null) as never[];
        return {
          name,
          kind: numeric ? ('numeric' as const) : ('categorical' as const),
          reference: clean(reference[name] as unknown[]),
          current: clean(current[name] as unknown[]),
        };
      }),
    ),
  );
  phases.read?.push(read);
  phases.reference?.push(referenceMs);
  phases.current?.push(currentMs);
  phases.compare?.push(compareMs);
  phases.raw?.push(rawMs);
  report = comparison;
  profileBytes = JSON.stringify(currentProfile).length;
  rawDrifted = raw.features.filter((f) => f.drifted).map((f) => f.feature);
}

const ms = (name: string) => median(phases[name] as number[]);
const profileTotal = ms('reference') + ms('current') + ms('compare');
console.log(
  `drift report, 1,000,000 reference rows vs 100,000 current rows, 6 features (median of ${repeat})`,
);
console.log(`  read with DuckDB        ${ms('read').toFixed(0)} ms`);
console.log(`  profile reference       ${ms('reference').toFixed(0)} ms`);
console.log(`  profile current window  ${ms('current').toFixed(0)} ms`);
console.log(`  compare profiles        ${ms('compare').toFixed(1)} ms`);
console.log(`  full report (profiles)  ${profileTotal.toFixed(0)} ms (+ read ${ms('read').toFixed(0)} ms)`);
console.log(
  `  baseline: raw-row tests ${ms('raw').toFixed(0)} ms  -> profiles / raw = ${(profileTotal / ms('raw')).toFixed(2)}`,
);
console.log(`  comparing stored profiles alone / raw = ${(ms('compare') / ms('raw')).toFixed(4)}`);
console.log(`  current window profile: ${(profileBytes / 1024).toFixed(0)} KiB of JSON`);
console.log(
  `  drifted (profiles): ${
    report?.columns
      .filter((c) => c.drift?.drifted)
      .map((c) => c.column)
      .join(', ') || 'none'
  }; (raw rows): ${rawDrifted.join(', ') || 'none'}`,
);
