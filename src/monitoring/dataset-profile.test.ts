import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/random.js';
import {
  compareProfiles,
  mergeDatasetProfiles,
  profileColumns,
  profileReference,
} from './dataset-profile.js';

const random = seededRandom(5);
const sample = (n: number, shift: number) => Array.from({ length: n }, () => random() * 10 + shift);

describe('dataset profiles', () => {
  it('merges windows binned on different references, and still compares and draws them', () => {
    const a = profileReference({
      x: sample(3000, 0),
      c: Array.from({ length: 3000 }, (_, i) => `k${i % 4}`),
    });
    const b = profileReference({
      x: sample(3000, 1),
      c: Array.from({ length: 3000 }, (_, i) => `k${i % 4}`),
    });
    // A canary's buckets (profiled on its own reference) merged with the stable version's.
    const windowA = profileColumns(
      { x: sample(500, 5), c: Array.from({ length: 500 }, () => 'k9') },
      a.schema,
    );
    const windowB = profileColumns(
      { x: sample(500, 5), c: Array.from({ length: 500 }, () => 'k1') },
      b.schema,
    );
    const merged = mergeDatasetProfiles(windowA, windowB);
    expect(merged.rows).toBe(1000);
    const report = compareProfiles(a.profile, merged);
    const x = report.columns.find((c) => c.column === 'x');
    expect(x?.drift).toMatchObject({ test: 'wasserstein', drifted: true });
    // Bin counts are read off the sketch when the window's own bins do not match the reference's.
    expect(x?.current.histogram).toHaveLength(x?.reference.histogram.length as number);
    expect(x?.current.histogram.reduce((n, h) => n + h.count, 0)).toBe(1000);
    const c = report.columns.find((col) => col.column === 'c');
    expect(c?.quality.unseen_categories).toEqual(['k9']);
    // PSI needs the reference's bins on both sides: a clear reason instead of a wrong number.
    const psi = compareProfiles(a.profile, merged, { tests: { x: { test: 'psi' } } });
    expect(psi.columns.find((col) => col.column === 'x')?.drift_error).toMatch(/use ks or wasserstein/);
  });
});
