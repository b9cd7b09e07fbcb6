import type { Kysely, Migration } from 'kysely';
import type { DialectName } from './index.js';

/** Endpoints, their change history, and rollouts (state the controller loop reads, so restarts resume). */
export function deploymentsMigration(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('endpoints')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('policy_json', 'text', (c) => c.notNull())
        .addColumn('stable_version', 'text', (c) => c.notNull())
        .addColumn('previous_stable_version', 'text')
        .addColumn('signature_json', 'text')
        .addColumn('webhook_url', 'text')
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      const events = db.schema.createTable('endpoint_events');
      await (dialect === 'postgres'
        ? events.addColumn('id', 'serial', (c) => c.primaryKey())
        : events.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      )
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('from_json', 'text')
        .addColumn('to_json', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('endpoint_events_endpoint')
        .on('endpoint_events')
        .columns(['endpoint', 'id'])
        .execute();

      await db.schema
        .createTable('rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('baseline_version', 'text', (c) => c.notNull())
        .addColumn('candidate_version', 'text', (c) => c.notNull())
        .addColumn('steps_json', 'text', (c) => c.notNull())
        .addColumn('interval_ms', 'integer', (c) => c.notNull())
        .addColumn('checks_json', 'text', (c) => c.notNull())
        .addColumn('approval', 'integer', (c) => c.notNull())
        .addColumn('awaiting_approval', 'integer', (c) => c.notNull())
        .addColumn('current_step', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('step_started_at', 'bigint', (c) => c.notNull())
        .addColumn('last_analysis_json', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('rollouts_endpoint_state')
        .on('rollouts')
        .columns(['endpoint', 'state'])
        .execute();
    },
  };
}
