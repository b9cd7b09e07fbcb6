import { invalidParameter } from '../core/errors.js';
import {
  type CategoricalProfile,
  type ColumnProfile,
  type ColumnSpec,
  mergeProfiles,
  type NumericProfile,
  type ProfileDrift,
  type ProfileDriftTest,
  profileColumn,
  profileDrift,
  profileQuantile,
  profileStd,
} from './profile.js';
import { binIndex, quantileBins } from './stats/binning.js';
import { sketchPoints } from './stats/quantile-sketch.js';

/** Column name of the model's prediction (score or value) in a dataset profile. */
export const PREDICTION_COLUMN = 'prediction';

/** The columns a reference fixes for every later window: kinds, bins and ranges. */
export type DatasetSchema = Record<string, ColumnSpec>;

/**
 * The mergeable profile of a set of rows: one column profile per feature and for the prediction, plus how many
 * requests lacked a reference column or carried one the reference does not know (schema violations).
 */
export interface DatasetProfile {
  rows: number;
  columns: Record<string, ColumnProfile>;
  /** Requests (or rows, for a dataset) whose columns did not match the reference's. */
  schemaViolations: number;
  /** Per-request latency, for windows of served traffic. */
  latencyMs?: ColumnProfile;
}

/** Rows as columns: name → values, every column as long as `rows`. */
export type Columns = Record<string, readonly unknown[]>;

/**
 * Profiles a reference: each column's kind is decided from its values (numeric when every present value is a
 * finite number), numeric columns get decile bins and the observed range, so later windows are profiled against
 * them. Returns the schema later windows use and the reference's own profile.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for no columns or no rows.
 */
export function profileReference(columns: Columns): { schema: DatasetSchema; profile: DatasetProfile } {
  const names = Object.keys(columns);
  if (names.length === 0) throw invalidParameter('reference: no columns; expected at least one feature');
  const rows = (columns[names[0] as string] as readonly unknown[]).length;
  if (rows === 0) throw invalidParameter('reference: no rows; expected a non-empty reference dataset');
  const schema: DatasetSchema = {};
  for (const name of names) {
    const values = columns[name] as readonly unknown[];
    const numbers: number[] = [];
    let numeric = true;
    for (const v of values) {
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) continue;
      if (typeof v === 'number' && Number.isFinite(v)) numbers.push(v);
      else {
        numeric = false;
        break;
      }
    }
    if (numeric && numbers.length > 0) {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const x of numbers) {
        if (x < min) min = x;
        if (x > max) max = x;
      }
      schema[name] = { kind: 'numeric', bins: quantileBins(numbers, 10), range: { min, max } };
    } else {
      schema[name] = { kind: 'categorical' };
    }
  }
  return { schema, profile: profileColumns(columns, schema) };
}

/** Profiles rows against a reference schema; columns the schema lacks are ignored and counted as violations. */
export function profileColumns(
  columns: Columns,
  schema: DatasetSchema,
  schemaViolations = 0,
): DatasetProfile {
  const profile: DatasetProfile = { rows: 0, columns: {}, schemaViolations };
  for (const [name, spec] of Object.entries(schema)) {
    const values = columns[name];
    if (values === undefined) continue;
    profile.columns[name] = profileColumn(values, spec);
    profile.rows = Math.max(profile.rows, values.length);
  }
  return profile;
}

/** The profile of the union of both profiles' rows (exact: every part merges exactly). */
export function mergeDatasetProfiles(a: DatasetProfile, b: DatasetProfile): DatasetProfile {
  const columns: Record<string, ColumnProfile> = { ...a.columns };
  for (const [name, profile] of Object.entries(b.columns)) {
    const mine = columns[name];
    columns[name] = mine === undefined ? profile : mergeProfiles(mine, profile, { dropMismatchedBins: true });
  }
  const merged: DatasetProfile = {
    rows: a.rows + b.rows,
    columns,
    schemaViolations: a.schemaViolations + b.schemaViolations,
  };
  const latency =
    a.latencyMs === undefined
      ? b.latencyMs
      : b.latencyMs === undefined
        ? a.latencyMs
        : mergeProfiles(a.latencyMs, b.latencyMs);
  if (latency !== undefined) merged.latencyMs = latency;
  return merged;
}

/** Options of a comparison: which columns, which test per column, and the dataset drift share. */
export interface CompareOptions {
  /** Per column: the drift test and/or its threshold (Evidently's defaults otherwise). */
  tests?: Record<string, { test?: ProfileDriftTest | undefined; threshold?: number | undefined }>;
  /** Dataset drift when at least this share of the features drift (default 0.5). */
  driftShare?: number;
}

/** Data quality of one column in the current window, judged against the reference. */
export interface ColumnQuality {
  /** Missing values / all values seen. */
  missing_rate: number;
  /** Values of the wrong type (e.g. a string in a numeric column). */
  type_mismatches: number;
  /** Numeric values outside the reference's [min, max]. */
  out_of_range: number;
  out_of_range_rate: number;
  /** Categories the reference never saw, most frequent first (at most 20). */
  unseen_categories: string[];
  /** Share of values that are unseen categories. */
  unseen_rate: number;
}

/** Summary statistics and a histogram of one side of a column, for reports. */
export interface ColumnSummary {
  count: number;
  missing: number;
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
  quantiles?: { p05: number; p25: number; p50: number; p75: number; p95: number };
  /** Numeric: counts over the reference's decile bins (labels are bin ranges); categorical: top categories. */
  histogram: { label: string; count: number }[];
}

export interface ColumnReport {
  column: string;
  role: 'feature' | 'prediction';
  kind: 'numeric' | 'categorical';
  /** Absent when the current window has no values for the column. */
  drift?: ProfileDrift;
  /** Why the chosen test could not be computed, when it could not. */
  drift_error?: string;
  quality: ColumnQuality;
  reference: ColumnSummary;
  current: ColumnSummary;
}

export interface DatasetComparison {
  reference_rows: number;
  current_rows: number;
  columns: ColumnReport[];
  drifted_features: number;
  /** Drifted features / features with a drift result. */
  drift_share: number;
  dataset_drift: boolean;
  prediction_drift?: ProfileDrift;
  /** Reference columns the current window never carried. */
  missing_columns: string[];
  schema_violations: number;
  /** Missing values / all values, over every feature. */
  missing_rate: number;
}

/**
 * Compares a current profile with the reference: drift per feature and for the prediction, dataset drift
 * (share of drifted features >= driftShare), and data quality (missing rate, type mismatches, out-of-range values,
 * unseen categories, schema violations). Pure: the same profiles give the same report.
 */
export function compareProfiles(
  reference: DatasetProfile,
  current: DatasetProfile,
  options: CompareOptions = {},
): DatasetComparison {
  const driftShare = options.driftShare ?? 0.5;
  if (!(driftShare > 0 && driftShare <= 1))
    throw invalidParameter(`drift_share is ${driftShare}; expected within (0, 1]`);
  const columns: ColumnReport[] = [];
  const missingColumns: string[] = [];
  let missing = 0;
  let seen = 0;
  for (const [name, ref] of Object.entries(reference.columns)) {
    const cur = current.columns[name];
    const role = name === PREDICTION_COLUMN ? 'prediction' : 'feature';
    if (cur === undefined) {
      if (role === 'feature') missingColumns.push(name);
      continue;
    }
    const report: ColumnReport = {
      column: name,
      role,
      kind: ref.kind,
      quality: columnQuality(ref, cur),
      reference: summarize(ref, ref),
      current: summarize(cur, ref),
    };
    if (cur.count > 0 && ref.count > 0) {
      const override = options.tests?.[name];
      try {
        report.drift = profileDrift(ref, cur, {
          ...(override?.test !== undefined && { test: override.test }),
          ...(override?.threshold !== undefined && { threshold: override.threshold }),
        });
      } catch (error) {
        // A chosen test these profiles cannot answer: said in the report, the other columns still judged.
        report.drift_error = (error as Error).message;
      }
    }
    if (role === 'feature') {
      missing += cur.missing;
      seen += cur.count + cur.missing + (cur.kind === 'numeric' ? (cur.invalid ?? 0) : 0);
    }
    columns.push(report);
  }
  const features = columns.filter((c) => c.role === 'feature' && c.drift !== undefined);
  const drifted = features.filter((c) => c.drift?.drifted === true).length;
  const share = features.length === 0 ? 0 : drifted / features.length;
  const prediction = columns.find((c) => c.role === 'prediction')?.drift;
  return {
    reference_rows: reference.rows,
    current_rows: current.rows,
    columns,
    drifted_features: drifted,
    drift_share: share,
    dataset_drift: features.length > 0 && share >= driftShare,
    ...(prediction !== undefined && { prediction_drift: prediction }),
    missing_columns: missingColumns,
    schema_violations: current.schemaViolations,
    missing_rate: seen === 0 ? 0 : missing / seen,
  };
}

function columnQuality(reference: ColumnProfile, current: ColumnProfile): ColumnQuality {
  const invalid = current.kind === 'numeric' ? (current.invalid ?? 0) : 0;
  const total = current.count + current.missing + invalid;
  const quality: ColumnQuality = {
    missing_rate: total === 0 ? 0 : current.missing / total,
    type_mismatches: invalid,
    out_of_range: 0,
    out_of_range_rate: 0,
    unseen_categories: [],
    unseen_rate: 0,
  };
  if (current.kind === 'numeric') {
    quality.out_of_range = current.outOfRange ?? 0;
    quality.out_of_range_rate = current.count === 0 ? 0 : quality.out_of_range / current.count;
  } else if (reference.kind === 'categorical') {
    const unseen = Object.entries(current.counts)
      .filter(([key]) => reference.counts[key] === undefined)
      .sort((a, b) => b[1] - a[1]);
    quality.unseen_categories = unseen.slice(0, 20).map(([key]) => key);
    const unseenCount = unseen.reduce((n, [, c]) => n + c, 0);
    quality.unseen_rate = current.count === 0 ? 0 : unseenCount / current.count;
  }
  return quality;
}

const round = (x: number) => Number(x.toPrecision(6));

function summarize(profile: ColumnProfile, reference: ColumnProfile): ColumnSummary {
  if (profile.kind === 'categorical') {
    const ref = reference as CategoricalProfile;
    const top = Object.entries(ref.counts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([label]) => label);
    const histogram = top.map((label) => ({ label, count: profile.counts[label] ?? 0 }));
    const other = profile.count - histogram.reduce((n, h) => n + h.count, 0);
    if (other > 0) histogram.push({ label: '(other)', count: other });
    return { count: profile.count, missing: profile.missing, histogram };
  }
  const summary: ColumnSummary = { count: profile.count, missing: profile.missing, histogram: [] };
  if (profile.count === 0) return summary;
  summary.mean = round(profile.mean);
  summary.std = round(profileStd(profile));
  summary.min = profile.min;
  summary.max = profile.max;
  const q = (p: number) => round(profileQuantile(profile, p));
  summary.quantiles = { p05: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95) };
  // Histograms are over the reference's bins. A current window merged from buckets binned on other references
  // (a version change) has none; its counts are then read off its sketch (each value within 1 % of itself).
  const referenceBins = (reference as NumericProfile).bins;
  if (referenceBins === undefined) return summary;
  const sameEdges = profile.bins !== undefined && profile.bins.edges.join() === referenceBins.edges.join();
  const counts = sameEdges
    ? (profile.bins as { counts: number[] }).counts
    : sketchBinCounts(profile, referenceBins.edges);
  const edges = referenceBins.edges.map(round);
  summary.histogram = counts.map((count, i) => ({
    label:
      i === 0 ? `< ${edges[0]}` : i === edges.length ? `>= ${edges[i - 1]}` : `${edges[i - 1]}–${edges[i]}`,
    count,
  }));
  return summary;
}

/** Reads a profile stored as JSON, checking its shape (profiles cross processes and versions). */
export function parseDatasetProfile(json: string): DatasetProfile {
  const value = JSON.parse(json) as DatasetProfile;
  if (typeof value !== 'object' || value === null || typeof value.rows !== 'number' || !value.columns)
    throw invalidParameter('stored profile is not a dataset profile');
  for (const column of Object.values(value.columns)) {
    if (column.kind === 'numeric') {
      // JSON has no infinities: an empty numeric profile's min/max come back as null.
      column.min ??= Number.POSITIVE_INFINITY;
      column.max ??= Number.NEGATIVE_INFINITY;
      (column.sketch as { min: number }).min ??= Number.POSITIVE_INFINITY;
      (column.sketch as { max: number }).max ??= Number.NEGATIVE_INFINITY;
    }
  }
  return value;
}

/** Counts of a profile's values over bin edges, from its sketch (bin i is [edges[i-1], edges[i])). */
function sketchBinCounts(profile: NumericProfile, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const { value, count } of sketchPoints(profile.sketch)) {
    const bin = binIndex(value, edges);
    counts[bin] = (counts[bin] ?? 0) + count;
  }
  return counts;
}
