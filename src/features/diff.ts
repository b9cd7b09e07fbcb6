import type { Definitions } from './definitions.js';

export type ObjectKind = 'entity' | 'source' | 'feature_view' | 'on_demand_feature_view' | 'feature_service';

/** One change `apply` would make; `destructive` changes need `--force`. */
export interface DefinitionChange {
  kind: ObjectKind;
  name: string;
  change: 'added' | 'changed' | 'removed';
  destructive: boolean;
  /** Why, for changed objects: which fields differ. */
  details: string[];
}

const collections: [ObjectKind, keyof Definitions][] = [
  ['entity', 'entities'],
  ['source', 'sources'],
  ['feature_view', 'feature_views'],
  ['on_demand_feature_view', 'on_demand_feature_views'],
  ['feature_service', 'feature_services'],
];

type Named = { name: string } & Record<string, unknown>;

/**
 * What changes between the applied definitions and new ones. Removing an object, or changing what a stored or
 * served value means (a view's entities, a removed field, a field's type, an entity's keys or key type), is
 * destructive: models and online data rely on it.
 */
export function diffDefinitions(before: Definitions | undefined, after: Definitions): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  for (const [kind, key] of collections) {
    const old = new Map(((before?.[key] ?? []) as Named[]).map((o) => [o.name, o]));
    const next = new Map((after[key] as Named[]).map((o) => [o.name, o]));
    for (const [name, object] of next) {
      const previous = old.get(name);
      if (previous === undefined) {
        changes.push({ kind, name, change: 'added', destructive: false, details: [] });
        continue;
      }
      // A view's ttl is compared as a duration (`1d` equals `24h`), under its written name.
      const details = Object.keys({ ...previous, ...object })
        .filter((k) => k !== 'ttl' && JSON.stringify(previous[k]) !== JSON.stringify(object[k]))
        .map((k) => (k === 'ttl_ms' ? 'ttl' : k))
        .sort();
      if (details.length === 0) continue;
      changes.push({
        kind,
        name,
        change: 'changed',
        destructive: isDestructive(kind, previous, object),
        details,
      });
    }
    for (const name of old.keys()) {
      if (!next.has(name)) changes.push({ kind, name, change: 'removed', destructive: true, details: [] });
    }
  }
  return changes;
}

function isDestructive(kind: ObjectKind, before: Named, after: Named): boolean {
  const same = (k: string) => JSON.stringify(before[k]) === JSON.stringify(after[k]);
  if (kind === 'entity') return !same('join_keys') || !same('value_type');
  if (kind === 'feature_view' || kind === 'on_demand_feature_view') {
    if (kind === 'feature_view' && !same('entities')) return true;
    const types = new Map(
      (after.fields as { name: string; dtype: string }[]).map((f) => [f.name, f.dtype] as const),
    );
    return (before.fields as { name: string; dtype: string }[]).some((f) => types.get(f.name) !== f.dtype);
  }
  if (kind === 'feature_service') {
    const kept = new Set(after.features as string[]);
    return (before.features as string[]).some((f) => !kept.has(f));
  }
  return false;
}
