import type { Kysely, Migration } from 'kysely';
import type { DialectName } from './index.js';

/**
 * Pipelines (versioned specs), their runs and step runs, and the lease that lets one process drive schedules and
 * data triggers. Run and step state lives here so a run can be resumed, and cached outputs found, after a restart.
 */
export function pipelinesMigration(_dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('pipelines')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('working_dir', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text')
        .addColumn('data_path', 'text')
        .addColumn('data_poll_ms', 'integer')
        .addColumn('last_fire_at', 'bigint')
        .addColumn('data_fingerprint', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('pipeline_versions')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('spec_yaml', 'text', (c) => c.notNull())
        .addColumn('spec_json', 'text', (c) => c.notNull())
        .addColumn('working_dir', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pipeline_versions_pk', ['name', 'version'])
        .execute();

      await db.schema
        .createTable('pipeline_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('params_json', 'text', (c) => c.notNull())
        .addColumn('trigger_input_path', 'text')
        .addColumn('experiment_id', 'text', (c) => c.notNull())
        .addColumn('tracking_run_id', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('pipeline_runs_pipeline')
        .on('pipeline_runs')
        .columns(['pipeline', 'created_at'])
        .execute();
      await db.schema.createIndex('pipeline_runs_status').on('pipeline_runs').column('status').execute();

      await db.schema
        .createTable('pipeline_steps')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('cache_key', 'text')
        .addColumn('cached_from', 'text')
        .addColumn('tracking_run_id', 'text')
        .addColumn('outputs_json', 'text')
        .addColumn('result_json', 'text')
        .addColumn('log_path', 'text')
        .addColumn('exit_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addPrimaryKeyConstraint('pipeline_steps_pk', ['run_id', 'step'])
        .execute();
      await db.schema
        .createIndex('pipeline_steps_cache')
        .on('pipeline_steps')
        .columns(['pipeline', 'step', 'cache_key'])
        .execute();

      await db.schema
        .createTable('pipeline_leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text')
        .addColumn('until', 'bigint')
        .execute();
    },
  };
}
