import type { Kysely, Migration } from 'kysely';
import type { DialectName } from './index.js';

/**
 * Monitoring: per-endpoint monitor settings, reference profiles, per-window profiles written by every serving
 * process (merged when read), predictions and their late labels, monitor results, alert rules and their states.
 */
export function monitoringMigration(dialect: DialectName): Migration {
  const serialId = (table: ReturnType<Kysely<unknown>['schema']['createTable']>) =>
    dialect === 'postgres'
      ? table.addColumn('id', 'serial', (c) => c.primaryKey())
      : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('monitors')
        .addColumn('endpoint', 'text', (c) => c.primaryKey())
        .addColumn('config_json', 'text', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('last_run_at', 'bigint')
        .addColumn('labels_accepted', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('labels_unknown', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('labels_duplicate', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('labels_conflicting', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await serialId(db.schema.createTable('monitor_references'))
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('schema_json', 'text', (c) => c.notNull())
        .addColumn('profile_json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('monitor_references_version')
        .on('monitor_references')
        .columns(['model', 'version', 'id'])
        .execute();

      await db.schema
        .createTable('monitor_windows')
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('replica', 'text', (c) => c.notNull())
        .addColumn('start_ms', 'bigint', (c) => c.notNull())
        .addColumn('end_ms', 'bigint', (c) => c.notNull())
        .addColumn('rows', 'bigint', (c) => c.notNull())
        .addColumn('profile_json', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('monitor_windows_pk', ['endpoint', 'version', 'replica', 'start_ms'])
        .execute();
      await db.schema
        .createIndex('monitor_windows_time')
        .on('monitor_windows')
        .columns(['endpoint', 'start_ms'])
        .execute();

      await db.schema
        .createTable('monitor_predictions')
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('row_index', 'integer', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
        .addColumn('prediction', 'double precision')
        .addColumn('predicted_label', 'double precision')
        .addColumn('label', 'double precision')
        .addColumn('labelled_at', 'bigint')
        .addPrimaryKeyConstraint('monitor_predictions_pk', ['endpoint', 'request_id', 'row_index'])
        .execute();
      await db.schema
        .createIndex('monitor_predictions_time')
        .on('monitor_predictions')
        .columns(['endpoint', 'timestamp_ms'])
        .execute();

      await serialId(db.schema.createTable('monitor_results'))
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .addColumn('result_json', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('monitor_results_endpoint')
        .on('monitor_results')
        .columns(['endpoint', 'run_at'])
        .execute();

      await serialId(db.schema.createTable('alert_rules'))
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('expression', 'text', (c) => c.notNull())
        .addColumn('for_ms', 'bigint', (c) => c.notNull())
        .addColumn('webhook_url', 'text')
        .addColumn('webhook_format', 'text', (c) => c.notNull())
        .addColumn('pipeline', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('state_since', 'bigint', (c) => c.notNull())
        .addColumn('breaches', 'integer', (c) => c.notNull())
        .addColumn('last_value', 'double precision')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('alert_rules_name', ['endpoint', 'name'])
        .execute();

      await serialId(db.schema.createTable('alert_events'))
        .addColumn('rule_id', 'integer', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('delivery_json', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('alert_events_endpoint')
        .on('alert_events')
        .columns(['endpoint', 'id'])
        .execute();
    },
  };
}
