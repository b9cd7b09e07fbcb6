import { invalidParameter, notFound } from '../core/errors.js';
import {
  type Definitions,
  type FeatureViewDef,
  type FieldDef,
  joinKeysOf,
  type OnDemandDef,
  type ValueType,
} from './definitions.js';

/** A feature the caller asked for, as it appears in results. */
export interface RequestedFeature {
  view: string;
  field: string;
  dtype: ValueType;
  /** `field`, or `view__field` with full feature names. */
  outputName: string;
  /** Always `view__field`: unique inside queries. */
  internalName: string;
  onDemand: boolean;
}

export interface ViewRead {
  view: FeatureViewDef;
  joinKeys: string[];
  /** Every field read: the requested ones and those on-demand transforms take as input. */
  fields: FieldDef[];
}

export interface JoinKey {
  name: string;
  valueType: 'string' | 'int64';
}

/** What one retrieval (online or historical) reads and computes, resolved once from the definitions. */
export interface FeaturePlan {
  requested: RequestedFeature[];
  views: ViewRead[];
  onDemand: OnDemandDef[];
  joinKeys: JoinKey[];
  requestFields: FieldDef[];
}

export const internalName = (view: string, field: string): string => `${view}__${field}`;

/**
 * Resolves `view:field` references (or a feature service) into the views to read and the transforms to run.
 * Unknown services, views or fields are 400/404 errors that list what exists.
 */
export function planFeatures(
  defs: Definitions,
  input: {
    features?: string[] | undefined;
    featureService?: string | undefined;
    fullFeatureNames?: boolean | undefined;
  },
): FeaturePlan {
  let refs: string[];
  if (input.featureService !== undefined) {
    const service = defs.feature_services.find((s) => s.name === input.featureService);
    if (service === undefined) {
      throw notFound(
        `feature_service '${input.featureService}' does not exist (known: ${defs.feature_services.map((s) => s.name).join(', ') || 'none'})`,
      );
    }
    refs = service.features;
  } else if (input.features !== undefined && input.features.length > 0) {
    refs = input.features;
  } else {
    throw invalidParameter(
      "expected 'features' (a list of 'view:field' references) or 'feature_service' (a service name)",
    );
  }
  const views = new Map(defs.feature_views.map((v) => [v.name, v]));
  const odfvs = new Map(defs.on_demand_feature_views.map((v) => [v.name, v]));
  const requested: RequestedFeature[] = [];
  const add = (viewName: string, f: FieldDef, onDemand: boolean) => {
    if (requested.some((r) => r.view === viewName && r.field === f.name)) return;
    requested.push({
      view: viewName,
      field: f.name,
      dtype: f.dtype,
      outputName: input.fullFeatureNames === true ? internalName(viewName, f.name) : f.name,
      internalName: internalName(viewName, f.name),
      onDemand,
    });
  };
  for (const ref of refs) {
    const [viewName = '', fieldName, extra] = ref.split(':');
    if (extra !== undefined || viewName === '') {
      throw invalidParameter(`feature reference '${ref}': expected 'view:field' or a view name`);
    }
    const view = views.get(viewName);
    const odfv = odfvs.get(viewName);
    const fields = view?.fields ?? odfv?.fields;
    if (fields === undefined) {
      const known = [...views.keys(), ...odfvs.keys()].join(', ') || 'none';
      throw notFound(`feature reference '${ref}': no feature view '${viewName}' (known: ${known})`);
    }
    const chosen = fieldName === undefined ? fields : fields.filter((f) => f.name === fieldName);
    if (chosen.length === 0) {
      throw notFound(
        `feature reference '${ref}': feature view '${viewName}' has no field '${fieldName}' (fields: ${fields.map((f) => f.name).join(', ')})`,
      );
    }
    for (const f of chosen) add(viewName, f, odfv !== undefined);
  }
  const names = new Map<string, string>();
  for (const r of requested) {
    const other = names.get(r.outputName);
    if (other !== undefined) {
      throw invalidParameter(
        `feature name '${r.outputName}' is in both '${other}' and '${r.view}': set full_feature_names to true`,
      );
    }
    names.set(r.outputName, r.view);
  }

  const onDemand = [...new Set(requested.filter((r) => r.onDemand).map((r) => r.view))].map(
    (n) => odfvs.get(n) as OnDemandDef,
  );
  const reads = new Map<string, ViewRead>();
  const read = (view: FeatureViewDef, fieldsToRead: FieldDef[]) => {
    let entry = reads.get(view.name);
    if (entry === undefined) {
      const joinKeys = view.entities.flatMap((e) => {
        const entity = defs.entities.find((d) => d.name === e);
        return entity === undefined ? [e] : joinKeysOf(entity);
      });
      entry = { view, joinKeys, fields: [] };
      reads.set(view.name, entry);
    }
    for (const f of fieldsToRead) if (!entry.fields.some((g) => g.name === f.name)) entry.fields.push(f);
  };
  for (const r of requested) {
    if (r.onDemand) continue;
    const view = views.get(r.view) as FeatureViewDef;
    read(view, [{ name: r.field, dtype: r.dtype }]);
  }
  for (const odfv of onDemand) {
    for (const s of odfv.sources) {
      const view = views.get(s) as FeatureViewDef;
      read(view, view.fields);
    }
  }
  const joinKeys: JoinKey[] = [];
  for (const entry of reads.values()) {
    for (const e of entry.view.entities) {
      const entity = defs.entities.find((d) => d.name === e);
      for (const key of entity === undefined ? [e] : joinKeysOf(entity)) {
        if (!joinKeys.some((k) => k.name === key))
          joinKeys.push({ name: key, valueType: entity?.value_type ?? 'string' });
      }
    }
  }
  const requestFields: FieldDef[] = [];
  for (const odfv of onDemand) {
    for (const f of odfv.request_fields)
      if (!requestFields.some((g) => g.name === f.name)) requestFields.push(f);
  }
  return { requested, views: [...reads.values()], onDemand, joinKeys, requestFields };
}
