import { invalidParameter } from '../../core/errors.js';
import { binProportions } from './binning.js';
import { chiSquareCategorical } from './chi-square.js';
import { jensenShannonDistance } from './jensen-shannon.js';
import { ksTwoSample } from './ks-test.js';
import { populationStabilityIndex } from './psi.js';
import { wassersteinNormed } from './wasserstein.js';

/** Drift tests a feature can be checked with. */
export type DriftTestName = 'ks' | 'wasserstein' | 'chisquare' | 'jensenshannon' | 'psi';

/** One feature's reference and current samples. Missing values must be dropped before this point. */
export type FeatureSamples =
  | {
      readonly name: string;
      readonly kind: 'numeric';
      readonly reference: readonly number[];
      readonly current: readonly number[];
    }
  | {
      readonly name: string;
      readonly kind: 'categorical';
      readonly reference: readonly string[];
      readonly current: readonly string[];
    };

/** Replaces the default test of a feature and/or its threshold. */
export interface DriftTestOverride {
  readonly test?: DriftTestName;
  readonly threshold?: number;
}

export interface FeatureDriftResult {
  readonly feature: string;
  readonly test: DriftTestName;
  /** p-value for 'ks' and 'chisquare'; a distance or index for the others. */
  readonly score: number;
  readonly threshold: number;
  /** p-value tests drift when score < threshold; distance tests when score >= threshold (Evidently's rule). */
  readonly drifted: boolean;
}

export interface DatasetDriftResult {
  readonly features: readonly FeatureDriftResult[];
  readonly driftedCount: number;
  /** driftedCount / number of features. */
  readonly driftedShare: number;
  /** True when driftedShare >= the dataset threshold (default 0.5). */
  readonly datasetDrift: boolean;
}

/** Evidently's default thresholds, per test. */
export const DEFAULT_DRIFT_THRESHOLDS: Readonly<Record<DriftTestName, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

/** Evidently switches from significance tests to distances above this many reference rows. */
export const SMALL_REFERENCE_MAX_ROWS = 1000;
/** Evidently treats a numeric feature with at most this many distinct values (pooled) as categorical. */
export const LOW_CARDINALITY_MAX_VALUES = 5;
export const DEFAULT_DATASET_DRIFT_SHARE = 0.5;

const P_VALUE_TESTS: ReadonlySet<DriftTestName> = new Set(['ks', 'chisquare']);
const NUMERIC_ONLY: ReadonlySet<DriftTestName> = new Set(['ks', 'wasserstein']);

/**
 * Evidently's default test for a feature: with <= 1000 reference rows, KS for numeric and chi-square for
 * categorical (and for numeric with <= 5 distinct values); above that, normed Wasserstein for numeric and
 * Jensen–Shannon for categorical (and low-cardinality numeric). Deviation: Evidently runs a two-proportion
 * z-test on binary features with small references; we use chi-square there too: for two categories it tests the
 * same hypothesis (equal proportions), though its p-value is not identical to Evidently's pooled z-test.
 */
export function defaultDriftTest(feature: FeatureSamples): DriftTestName {
  const small = feature.reference.length <= SMALL_REFERENCE_MAX_ROWS;
  const categorical = feature.kind === 'categorical' || isLowCardinality(feature.reference, feature.current);
  if (categorical) return small ? 'chisquare' : 'jensenshannon';
  return small ? 'ks' : 'wasserstein';
}

/**
 * Runs one feature's drift test (the default, or the override's) and applies its threshold.
 * @throws SlipwayError INVALID_PARAMETER_VALUE for empty samples or a numeric-only test on a categorical feature.
 */
export function detectFeatureDrift(
  feature: FeatureSamples,
  override: DriftTestOverride = {},
): FeatureDriftResult {
  if (feature.reference.length === 0 || feature.current.length === 0) {
    throw invalidParameter(
      `drift: feature '${feature.name}' has ${feature.reference.length} reference and ${feature.current.length} current values; expected both non-empty`,
    );
  }
  const test = override.test ?? defaultDriftTest(feature);
  const threshold = override.threshold ?? DEFAULT_DRIFT_THRESHOLDS[test];
  const score = driftScore(feature, test);
  const drifted = P_VALUE_TESTS.has(test) ? score < threshold : score >= threshold;
  return { feature: feature.name, test, score, threshold, drifted };
}

/**
 * Tests every feature and flags dataset drift when at least `driftShare` (default 0.5) of them drift.
 * @throws SlipwayError INVALID_PARAMETER_VALUE when no features are given or driftShare is outside (0, 1].
 */
export function detectDatasetDrift(
  features: readonly FeatureSamples[],
  options: {
    readonly driftShare?: number;
    readonly overrides?: Readonly<Record<string, DriftTestOverride>>;
  } = {},
): DatasetDriftResult {
  if (features.length === 0) throw invalidParameter('drift: no features given; expected at least one');
  const share = options.driftShare ?? DEFAULT_DATASET_DRIFT_SHARE;
  if (!(share > 0 && share <= 1))
    throw invalidParameter(`drift: driftShare is ${share}; expected within (0, 1]`);
  const results = features.map((f) => detectFeatureDrift(f, options.overrides?.[f.name] ?? {}));
  const driftedCount = results.filter((r) => r.drifted).length;
  const driftedShare = driftedCount / results.length;
  return { features: results, driftedCount, driftedShare, datasetDrift: driftedShare >= share };
}

function driftScore(feature: FeatureSamples, test: DriftTestName): number {
  if (feature.kind === 'categorical') {
    if (NUMERIC_ONLY.has(test)) {
      throw invalidParameter(
        `drift: test '${test}' on categorical feature '${feature.name}'; expected a numeric feature`,
      );
    }
    return categoricalScore(feature.reference, feature.current, test);
  }
  switch (test) {
    case 'ks':
      return ksTwoSample(feature.reference, feature.current).pValue;
    case 'wasserstein':
      return wassersteinNormed(feature.reference, feature.current);
    case 'chisquare':
      return categoricalScore(feature.reference.map(String), feature.current.map(String), test);
    case 'jensenshannon':
    case 'psi': {
      if (isLowCardinality(feature.reference, feature.current)) {
        return categoricalScore(feature.reference.map(String), feature.current.map(String), test);
      }
      const binned = binProportions(feature.reference, feature.current);
      return test === 'psi'
        ? populationStabilityIndex(binned.referenceProportions, binned.currentProportions)
        : jensenShannonDistance(binned.referenceProportions, binned.currentProportions, { base: 2 });
    }
  }
}

function categoricalScore(
  reference: readonly string[],
  current: readonly string[],
  test: DriftTestName,
): number {
  const ref = countValues(reference);
  const cur = countValues(current);
  if (test === 'chisquare') {
    // One category on both sides leaves no degrees of freedom: nothing can have drifted.
    if (new Set([...ref.keys(), ...cur.keys()]).size < 2) return 1;
    return chiSquareCategorical(ref, cur).pValue;
  }
  const keys = [...new Set([...ref.keys(), ...cur.keys()])].sort();
  const refP = keys.map((k) => (ref.get(k) ?? 0) / reference.length);
  const curP = keys.map((k) => (cur.get(k) ?? 0) / current.length);
  // Evidently computes categorical JS in base 2 (range [0, 1]); its 0.1 threshold is meant on that scale.
  return test === 'psi'
    ? populationStabilityIndex(refP, curP)
    : jensenShannonDistance(refP, curP, { base: 2 });
}

function countValues(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

function isLowCardinality(
  reference: readonly (number | string)[],
  current: readonly (number | string)[],
): boolean {
  const distinct = new Set<number | string>();
  for (const v of reference) {
    distinct.add(v);
    if (distinct.size > LOW_CARDINALITY_MAX_VALUES) return false;
  }
  for (const v of current) {
    distinct.add(v);
    if (distinct.size > LOW_CARDINALITY_MAX_VALUES) return false;
  }
  return true;
}
