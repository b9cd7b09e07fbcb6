import type { Kysely, Migration } from 'kysely';
import type { DialectName } from './index.js';

/**
 * The feature store's registry: every applied version of the definitions (the current one is the highest),
 * materialized intervals per feature view (so `materialize-incremental` resumes), and endpoint bindings (which
 * feature service enriches an endpoint's requests). Online values live in the online store, not here.
 */
export function featuresMigration(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('feature_registry')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('definitions_json', 'text', (c) => c.notNull())
        .addColumn('changes_json', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'bigint', (c) => c.notNull())
        .execute();

      const intervals = db.schema.createTable('feature_materializations');
      await (dialect === 'postgres'
        ? intervals.addColumn('id', 'serial', (c) => c.primaryKey())
        : intervals.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      )
        .addColumn('view', 'text', (c) => c.notNull())
        .addColumn('start_ms', 'bigint', (c) => c.notNull())
        .addColumn('end_ms', 'bigint', (c) => c.notNull())
        .addColumn('rows', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('feature_materializations_view')
        .on('feature_materializations')
        .columns(['view', 'end_ms'])
        .execute();

      await db.schema
        .createTable('feature_endpoint_bindings')
        .addColumn('endpoint', 'text', (c) => c.primaryKey())
        .addColumn('feature_service', 'text', (c) => c.notNull())
        .addColumn('entity_inputs_json', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
