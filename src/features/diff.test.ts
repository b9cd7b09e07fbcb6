import { describe, expect, it } from 'vitest';
import { parseDefinitions } from './definitions.js';
import { diffDefinitions } from './diff.js';

const doc = (fields: { name: string; dtype: string }[], extra: object = {}) =>
  parseDefinitions({
    entities: [{ name: 'origin' }],
    sources: [{ name: 'stats', path: '/data/stats.parquet' }],
    feature_views: [{ name: 'delays', entities: ['origin'], source: 'stats', fields, ...extra }],
  });

describe('diffDefinitions', () => {
  it('lists everything as added against nothing', () => {
    const changes = diffDefinitions(undefined, doc([{ name: 'avg', dtype: 'float64' }]));
    expect(changes.map((c) => `${c.change} ${c.kind} ${c.name}`)).toEqual([
      'added entity origin',
      'added source stats',
      'added feature_view delays',
    ]);
    expect(changes.every((c) => !c.destructive)).toBe(true);
  });
  it('finds no change in the same document', () => {
    const d = doc([{ name: 'avg', dtype: 'float64' }]);
    expect(diffDefinitions(d, doc([{ name: 'avg', dtype: 'float64' }]))).toEqual([]);
  });
  it('treats an added field or a new ttl as safe', () => {
    const before = doc([{ name: 'avg', dtype: 'float64' }]);
    const after = doc(
      [
        { name: 'avg', dtype: 'float64' },
        { name: 'n', dtype: 'int64' },
      ],
      { ttl: '2h' },
    );
    const [change] = diffDefinitions(before, after);
    expect(change).toMatchObject({ change: 'changed', destructive: false, details: ['fields', 'ttl'] });
  });
  it('treats a removed field, a changed type or a removed view as destructive', () => {
    const before = doc([
      { name: 'avg', dtype: 'float64' },
      { name: 'n', dtype: 'int64' },
    ]);
    expect(diffDefinitions(before, doc([{ name: 'avg', dtype: 'float64' }]))[0]?.destructive).toBe(true);
    expect(
      diffDefinitions(
        before,
        doc([
          { name: 'avg', dtype: 'float32' },
          { name: 'n', dtype: 'int64' },
        ]),
      )[0]?.destructive,
    ).toBe(true);
    const empty = parseDefinitions({
      entities: [{ name: 'origin' }],
      sources: [{ name: 'stats', path: '/x.parquet' }],
    });
    const removed = diffDefinitions(before, empty).find((c) => c.kind === 'feature_view');
    expect(removed).toMatchObject({ change: 'removed', destructive: true });
  });
});
