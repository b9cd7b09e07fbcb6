import { sql } from 'kysely';
import {
  type AlertEventTable,
  type AlertRuleTable,
  leaseAvailableTo,
  type MetadataDb,
  type MonitorPredictionTable,
  type MonitorReferenceTable,
  type MonitorResultTable,
  type MonitorWindowTable,
} from '../storage/index.js';

/** Monitoring's SQL: monitors, references, window profiles, predictions and labels, results, alerts. */
export function createMonitoringStore(metadata: MetadataDb) {
  const db = metadata.db;
  return {
    db,
    getMonitor: (endpoint: string) =>
      db.selectFrom('monitors').selectAll().where('endpoint', '=', endpoint).executeTakeFirst(),
    listMonitors: () => db.selectFrom('monitors').selectAll().orderBy('endpoint').execute(),
    async upsertMonitor(endpoint: string, configJson: string, now: number): Promise<void> {
      const existing = await db
        .selectFrom('monitors')
        .select('endpoint')
        .where('endpoint', '=', endpoint)
        .executeTakeFirst();
      if (existing === undefined) {
        await db
          .insertInto('monitors')
          .values({
            endpoint,
            config_json: configJson,
            lease_owner: null,
            lease_until: null,
            last_run_at: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
      } else {
        await db
          .updateTable('monitors')
          .set({ config_json: configJson, updated_at: now })
          .where('endpoint', '=', endpoint)
          .execute();
      }
    },
    deleteMonitor: (endpoint: string) => db.deleteFrom('monitors').where('endpoint', '=', endpoint).execute(),
    /** Takes (or renews) the monitor's schedule lease; true when this process runs it now. */
    async acquireLease(endpoint: string, owner: string, now: number, until: number): Promise<boolean> {
      const result = await db
        .updateTable('monitors')
        .set({ lease_owner: owner, lease_until: until })
        .where('endpoint', '=', endpoint)
        .where(leaseAvailableTo(owner, now))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    setLastRun: (endpoint: string, at: number) =>
      db.updateTable('monitors').set({ last_run_at: at }).where('endpoint', '=', endpoint).execute(),
    addLabelCounts: (
      endpoint: string,
      counts: { accepted: number; unknown: number; duplicate: number; conflicting: number },
    ) =>
      db
        .updateTable('monitors')
        .set({
          labels_accepted: sql`labels_accepted + ${counts.accepted}`,
          labels_unknown: sql`labels_unknown + ${counts.unknown}`,
          labels_duplicate: sql`labels_duplicate + ${counts.duplicate}`,
          labels_conflicting: sql`labels_conflicting + ${counts.conflicting}`,
        })
        .where('endpoint', '=', endpoint)
        .execute(),

    insertReference: (row: Omit<MonitorReferenceTable, 'id'>) =>
      db.insertInto('monitor_references').values(row).execute(),
    latestReference: (model: string, version: string) =>
      db
        .selectFrom('monitor_references')
        .selectAll()
        .where('model', '=', model)
        .where('version', '=', version)
        .orderBy('id', 'desc')
        .executeTakeFirst(),

    /** Adds a window profile, merging with one this replica already wrote for the same bucket. */
    async saveWindow(
      row: MonitorWindowTable,
      merge: (existingJson: string) => { rows: number; profile_json: string },
    ): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom('monitor_windows')
          .select('profile_json')
          .where('endpoint', '=', row.endpoint)
          .where('version', '=', row.version)
          .where('replica', '=', row.replica)
          .where('start_ms', '=', row.start_ms)
          .executeTakeFirst();
        if (existing === undefined) {
          await trx.insertInto('monitor_windows').values(row).execute();
          return;
        }
        await trx
          .updateTable('monitor_windows')
          .set(merge(existing.profile_json))
          .where('endpoint', '=', row.endpoint)
          .where('version', '=', row.version)
          .where('replica', '=', row.replica)
          .where('start_ms', '=', row.start_ms)
          .execute();
      });
    },
    windows: (endpoint: string, fromMs: number, toMs: number) =>
      db
        .selectFrom('monitor_windows')
        .select(['version', 'start_ms', 'end_ms', 'rows', 'profile_json'])
        .where('endpoint', '=', endpoint)
        .where('start_ms', '>=', fromMs)
        .where('start_ms', '<', toMs)
        .orderBy('start_ms')
        .execute(),

    async insertPredictions(rows: MonitorPredictionTable[]): Promise<void> {
      if (rows.length === 0) return;
      await db.transaction().execute(async (trx) => {
        // Bound the statement size: SQLite allows 32,766 parameters, 9 per row.
        for (let i = 0; i < rows.length; i += 500) {
          await trx
            .insertInto('monitor_predictions')
            .values(rows.slice(i, i + 500))
            .onConflict((oc) => oc.columns(['endpoint', 'request_id', 'row_index']).doNothing())
            .execute();
        }
      });
    },
    predictionsFor: (endpoint: string, requestIds: readonly string[]) =>
      db
        .selectFrom('monitor_predictions')
        .select(['request_id', 'row_index', 'label'])
        .where('endpoint', '=', endpoint)
        .where('request_id', 'in', requestIds)
        .execute(),
    labelledPredictions: (endpoint: string, fromMs: number, toMs: number) =>
      db
        .selectFrom('monitor_predictions')
        .select(['version', 'prediction', 'predicted_label', 'label'])
        .where('endpoint', '=', endpoint)
        .where('timestamp_ms', '>=', fromMs)
        .where('timestamp_ms', '<', toMs)
        .where('label', 'is not', null)
        .execute(),

    insertResult: (row: Omit<MonitorResultTable, 'id'>) =>
      db.insertInto('monitor_results').values(row).execute(),
    results: (endpoint: string, limit: number) =>
      db
        .selectFrom('monitor_results')
        .selectAll()
        .where('endpoint', '=', endpoint)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute(),

    rules: (endpoint?: string) => {
      let query = db.selectFrom('alert_rules').selectAll();
      if (endpoint !== undefined) query = query.where('endpoint', '=', endpoint);
      return query.orderBy('id').execute();
    },
    getRule: (endpoint: string, name: string) =>
      db
        .selectFrom('alert_rules')
        .selectAll()
        .where('endpoint', '=', endpoint)
        .where('name', '=', name)
        .executeTakeFirst(),
    insertRule: (row: Omit<AlertRuleTable, 'id'>) => db.insertInto('alert_rules').values(row).execute(),
    updateRule: (id: number, changes: Partial<Omit<AlertRuleTable, 'id'>>) =>
      db.updateTable('alert_rules').set(changes).where('id', '=', id).execute(),
    deleteRule: (endpoint: string, name: string) =>
      db
        .deleteFrom('alert_rules')
        .where('endpoint', '=', endpoint)
        .where('name', '=', name)
        .executeTakeFirst(),
    insertEvent: (row: Omit<AlertEventTable, 'id'>) => db.insertInto('alert_events').values(row).execute(),
    events: (endpoint: string, limit: number) =>
      db
        .selectFrom('alert_events')
        .selectAll()
        .where('endpoint', '=', endpoint)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute(),
  };
}

export type MonitoringStore = ReturnType<typeof createMonitoringStore>;
