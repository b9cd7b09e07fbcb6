import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectName } from './index.js';

/** Tracking and registry tables. Timestamps are ms since the epoch (bigint). */
export function foundationMigration(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const experiments = db.schema.createTable('experiments');
      await (dialect === 'postgres'
        ? experiments.addColumn('experiment_id', 'serial', (c) => c.primaryKey())
        : experiments.addColumn('experiment_id', 'integer', (c) => c.primaryKey().autoIncrement())
      )
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('artifact_location', 'text', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
        .addColumn('creation_time', 'bigint', (c) => c.notNull())
        .addColumn('last_update_time', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('experiment_tags')
        .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('experiment_tags_pk', ['experiment_id', 'key'])
        .execute();

      await db.schema
        .createTable('runs')
        .addColumn('run_id', 'text', (c) => c.primaryKey())
        .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
        .addColumn('run_name', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('start_time', 'bigint', (c) => c.notNull())
        .addColumn('end_time', 'bigint')
        .addColumn('artifact_uri', 'text', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
        .addColumn('deleted_time', 'bigint')
        .execute();
      await db.schema
        .createIndex('runs_experiment_start')
        .on('runs')
        .columns(['experiment_id', 'start_time'])
        .execute();

      for (const table of ['metrics', 'latest_metrics'] as const) {
        await db.schema
          .createTable(table)
          .addColumn('run_id', 'text', (c) => c.notNull().references('runs.run_id'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'double precision', (c) => c.notNull())
          .addColumn('timestamp', 'bigint', (c) => c.notNull())
          .addColumn('step', 'bigint', (c) => c.notNull())
          .addColumn('is_nan', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint(
            `${table}_pk`,
            table === 'metrics'
              ? ['run_id', 'key', 'timestamp', 'step', 'value', 'is_nan']
              : ['run_id', 'key'],
          )
          .execute();
      }
      // Search filters and sorts on one metric key across runs.
      await db.schema
        .createIndex('latest_metrics_key_value')
        .on('latest_metrics')
        .columns(['key', 'value'])
        .execute();

      for (const table of ['params', 'tags'] as const) {
        await db.schema
          .createTable(table)
          .addColumn('run_id', 'text', (c) => c.notNull().references('runs.run_id'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['run_id', 'key'])
          .execute();
        await db.schema.createIndex(`${table}_key_value`).on(table).columns(['key', 'value']).execute();
      }

      await db.schema
        .createTable('datasets')
        .addColumn('dataset_id', 'text', (c) => c.primaryKey())
        .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('source_type', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('schema', 'text')
        .addColumn('profile', 'text')
        .addUniqueConstraint('datasets_identity', ['experiment_id', 'name', 'digest'])
        .execute();

      await db.schema
        .createTable('run_inputs')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.run_id'))
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.dataset_id'))
        .addColumn('context', 'text')
        .addColumn('tags_json', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_inputs_pk', ['run_id', 'dataset_id'])
        .execute();

      await db.schema
        .createTable('registered_models')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('creation_timestamp', 'bigint', (c) => c.notNull())
        .addColumn('last_updated_timestamp', 'bigint', (c) => c.notNull())
        .addColumn('description', 'text')
        .execute();

      await db.schema
        .createTable('registered_model_tags')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registered_model_tags_pk', ['name', 'key'])
        .execute();

      await db.schema
        .createTable('registered_model_aliases')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('registered_model_aliases_pk', ['name', 'alias'])
        .execute();

      await db.schema
        .createTable('model_versions')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('creation_timestamp', 'bigint', (c) => c.notNull())
        .addColumn('last_updated_timestamp', 'bigint', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('user_id', 'text')
        .addColumn('current_stage', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('run_link', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_message', 'text')
        .addColumn('signature_json', 'text')
        .addColumn('lineage_json', 'text')
        .addColumn('model_card_md', 'text')
        .addColumn('metrics_snapshot_json', 'text')
        .addColumn('flavor', 'text')
        .addColumn('content_digest', 'text')
        .addPrimaryKeyConstraint('model_versions_pk', ['name', 'version'])
        .execute();

      await db.schema
        .createTable('model_version_tags')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('model_version_tags_pk', ['name', 'version', 'key'])
        .execute();

      // MLflow's experiment 0 always exists.
      await sql`insert into experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
        values (0, 'Default', 'mlflow-artifacts:/0', 'active', ${Date.now()}, ${Date.now()})`.execute(db);
      if (dialect === 'postgres') {
        // The serial sequence must not hand out 0 or 1 twice after the explicit insert above.
        await sql`select setval(pg_get_serial_sequence('experiments', 'experiment_id'), 1, false)`.execute(
          db,
        );
      }
    },
  };
}
