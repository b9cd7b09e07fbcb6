import { describe, expect, it } from 'vitest';
import { parseDefinitions } from './definitions.js';
import { planFeatures } from './feature-plan.js';

const defs = parseDefinitions({
  entities: [{ name: 'origin' }, { name: 'flight', value_type: 'int64', join_keys: ['flight_id'] }],
  sources: [{ name: 'stats', path: '/s.parquet' }],
  feature_views: [
    {
      name: 'day',
      entities: ['origin'],
      source: 'stats',
      fields: [
        { name: 'avg', dtype: 'float64' },
        { name: 'n', dtype: 'int64' },
      ],
    },
    { name: 'week', entities: ['origin'], source: 'stats', fields: [{ name: 'avg', dtype: 'float64' }] },
    { name: 'flights', entities: ['flight'], source: 'stats', fields: [{ name: 'delay', dtype: 'int64' }] },
  ],
  on_demand_feature_views: [
    {
      name: 'ratio',
      sources: ['day'],
      request_fields: [{ name: 'distance', dtype: 'int64' }],
      module: '/t.js',
      fields: [{ name: 'per_mile', dtype: 'float64' }],
    },
  ],
  feature_services: [{ name: 'svc', features: ['day:avg', 'ratio'] }],
});

describe('planFeatures', () => {
  it('resolves a service into views, transforms, join keys and request fields', () => {
    const plan = planFeatures(defs, { featureService: 'svc' });
    expect(plan.requested.map((r) => r.outputName)).toEqual(['avg', 'per_mile']);
    // The transform reads every field of its source view, so 'n' is read though not requested.
    expect(plan.views.map((v) => [v.view.name, v.fields.map((f) => f.name)])).toEqual([
      ['day', ['avg', 'n']],
    ]);
    expect(plan.joinKeys).toEqual([{ name: 'origin', valueType: 'string' }]);
    expect(plan.requestFields.map((f) => f.name)).toEqual(['distance']);
  });
  it('uses join keys and their types from the entity', () => {
    const plan = planFeatures(defs, { features: ['flights:delay'] });
    expect(plan.joinKeys).toEqual([{ name: 'flight_id', valueType: 'int64' }]);
  });
  it('asks for full feature names when two views share a field name', () => {
    expect(() => planFeatures(defs, { features: ['day:avg', 'week:avg'] })).toThrow(/full_feature_names/);
    const plan = planFeatures(defs, { features: ['day:avg', 'week:avg'], fullFeatureNames: true });
    expect(plan.requested.map((r) => r.outputName)).toEqual(['day__avg', 'week__avg']);
  });
  it('names what is unknown and what exists', () => {
    expect(() => planFeatures(defs, { features: ['hour:avg'] })).toThrow(
      /no feature view 'hour' \(known: day, week/,
    );
    expect(() => planFeatures(defs, { features: ['day:p50'] })).toThrow(
      /has no field 'p50' \(fields: avg, n\)/,
    );
    expect(() => planFeatures(defs, { featureService: 'nope' })).toThrow(
      /feature_service 'nope' does not exist/,
    );
    expect(() => planFeatures(defs, {})).toThrow(/expected 'features'/);
  });
});
