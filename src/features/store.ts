import type {
  FeatureEndpointBindingTable,
  FeatureMaterializationTable,
  FeatureRegistryTable,
  MetadataDb,
} from '../storage/index.js';

/** SQL of the feature registry, materialization intervals and endpoint bindings. */
export function createFeatureStore(metadata: MetadataDb) {
  const { db } = metadata;
  return {
    latestVersion: () =>
      db.selectFrom('feature_registry').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst(),
    versions: () =>
      db
        .selectFrom('feature_registry')
        .select(['version', 'project', 'digest', 'changes_json', 'actor', 'applied_at'])
        .orderBy('version', 'desc')
        .execute(),
    /** Fails on a concurrent apply that took the same version number (primary key), rather than losing it. */
    insertVersion: (row: FeatureRegistryTable) => db.insertInto('feature_registry').values(row).execute(),
    lastMaterializedEnd: async (view: string): Promise<number | undefined> => {
      const row = await db
        .selectFrom('feature_materializations')
        .select((eb) => eb.fn.max('end_ms').as('end_ms'))
        .where('view', '=', view)
        .executeTakeFirst();
      return row?.end_ms === null || row?.end_ms === undefined ? undefined : Number(row.end_ms);
    },
    recordMaterialization: (row: Omit<FeatureMaterializationTable, 'id'>) =>
      db.insertInto('feature_materializations').values(row).execute(),
    materializations: (view?: string) => {
      let query = db.selectFrom('feature_materializations').selectAll().orderBy('id', 'desc').limit(100);
      if (view !== undefined) query = query.where('view', '=', view);
      return query.execute();
    },
    bindings: () => db.selectFrom('feature_endpoint_bindings').selectAll().orderBy('endpoint').execute(),
    upsertBinding: async (row: FeatureEndpointBindingTable) => {
      await db
        .insertInto('feature_endpoint_bindings')
        .values(row)
        .onConflict((oc) =>
          oc.column('endpoint').doUpdateSet({
            feature_service: row.feature_service,
            entity_inputs_json: row.entity_inputs_json,
            updated_at: row.updated_at,
          }),
        )
        .execute();
    },
    deleteBinding: (endpoint: string) =>
      db.deleteFrom('feature_endpoint_bindings').where('endpoint', '=', endpoint).executeTakeFirst(),
  };
}

export type FeatureStore = ReturnType<typeof createFeatureStore>;
