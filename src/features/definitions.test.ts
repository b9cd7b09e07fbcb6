import { describe, expect, it } from 'vitest';
import { parseDefinitions, parseTtlMs } from './definitions.js';

const base = {
  entities: [{ name: 'origin' }],
  sources: [{ name: 'stats', path: 'stats.parquet', timestamp_field: 'ts' }],
  feature_views: [
    {
      name: 'delays',
      entities: ['origin'],
      source: 'stats',
      ttl: '1d',
      fields: [{ name: 'avg', dtype: 'float64' }],
    },
  ],
  feature_services: [{ name: 'model', features: ['delays:avg'] }],
};

describe('parseTtlMs', () => {
  it('reads durations with units, plain seconds and zero', () => {
    expect(parseTtlMs('2h')).toBe(7_200_000);
    expect(parseTtlMs('7d')).toBe(604_800_000);
    expect(parseTtlMs('1500ms')).toBe(1500);
    expect(parseTtlMs(30)).toBe(30_000);
    expect(parseTtlMs('0')).toBe(0);
  });
  it('rejects what is not a duration', () => {
    expect(() => parseTtlMs('soon')).toThrow(/ttl: expected a duration/);
    expect(() => parseTtlMs(-1)).toThrow(/non-negative/);
  });
});

describe('parseDefinitions', () => {
  it('resolves relative paths against the file and fills defaults', () => {
    const defs = parseDefinitions(base, '/repo/features');
    expect(defs.sources[0]?.path).toBe('/repo/features/stats.parquet');
    expect(defs.feature_views[0]?.ttl_ms).toBe(86_400_000);
    expect(defs.entities[0]?.value_type).toBe('string');
    expect(defs.project).toBe('default');
  });
  it('names the field of a schema problem', () => {
    const bad = {
      ...base,
      feature_views: [{ ...base.feature_views[0], fields: [{ name: 'avg', dtype: 'decimal' }] }],
    };
    expect(() => parseDefinitions(bad)).toThrow(/'feature_views\.0\.fields\.0\.dtype'/);
  });
  it('rejects references to unknown entities, sources and fields', () => {
    const noEntity = { ...base, feature_views: [{ ...base.feature_views[0], entities: ['airport'] }] };
    expect(() => parseDefinitions(noEntity)).toThrow(/entities names 'airport'/);
    const noSource = { ...base, feature_views: [{ ...base.feature_views[0], source: 'nope' }] };
    expect(() => parseDefinitions(noSource)).toThrow(/source 'nope' is not a defined source/);
    const noField = { ...base, feature_services: [{ name: 'model', features: ['delays:p99'] }] };
    expect(() => parseDefinitions(noField)).toThrow(/has no field 'p99'/);
  });
  it('wants exactly one of path or query in a source', () => {
    const both = { ...base, sources: [{ name: 'stats', path: 'a.parquet', query: 'select 1' }] };
    expect(() => parseDefinitions(both)).toThrow(/exactly one of 'path'/);
  });
  it('refuses duplicate names', () => {
    const twice = { ...base, entities: [{ name: 'origin' }, { name: 'origin' }] };
    expect(() => parseDefinitions(twice)).toThrow(/entity 'origin' is defined twice/);
  });
});
