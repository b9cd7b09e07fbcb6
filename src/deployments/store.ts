import { sql, type Transaction } from 'kysely';
import {
  type Database,
  type EndpointTable,
  leaseAvailableTo,
  type MetadataDb,
  type RolloutTable,
} from '../storage/index.js';

/** SQL of endpoints, their history and rollouts. */
export function createDeploymentStore(metadata: MetadataDb) {
  const { db } = metadata;
  return {
    db,
    transaction: <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> =>
      db.transaction().execute(work),
    getEndpoint: (name: string, trx: Transaction<Database> | typeof db = db) =>
      trx.selectFrom('endpoints').selectAll().where('name', '=', name).executeTakeFirst(),
    listEndpoints: () => db.selectFrom('endpoints').selectAll().orderBy('name').execute(),
    insertEndpoint: (trx: Transaction<Database>, row: EndpointTable) =>
      trx.insertInto('endpoints').values(row).execute(),
    updateEndpoint: (trx: Transaction<Database>, name: string, changes: Partial<EndpointTable>) =>
      trx
        .updateTable('endpoints')
        .set({ ...changes, revision: sql`revision + 1` as unknown as number })
        .where('name', '=', name)
        .execute(),
    addEvent: (
      trx: Transaction<Database> | typeof db,
      event: {
        endpoint: string;
        at: number;
        actor: string;
        kind: string;
        from?: unknown;
        to?: unknown;
        reason: string;
      },
    ) =>
      trx
        .insertInto('endpoint_events')
        .values({
          endpoint: event.endpoint,
          at: event.at,
          actor: event.actor,
          kind: event.kind,
          from_json: event.from === undefined ? null : JSON.stringify(event.from),
          to_json: event.to === undefined ? null : JSON.stringify(event.to),
          reason: event.reason,
        })
        .execute(),
    events: (endpoint: string) =>
      db
        .selectFrom('endpoint_events')
        .selectAll()
        .where('endpoint', '=', endpoint)
        .orderBy('id', 'asc')
        .execute(),
    activeRollout: (endpoint: string, trx: Transaction<Database> | typeof db = db) =>
      trx
        .selectFrom('rollouts')
        .selectAll()
        .where('endpoint', '=', endpoint)
        .where('state', 'in', ['running', 'paused'])
        .executeTakeFirst(),
    latestRollout: (endpoint: string) =>
      db
        .selectFrom('rollouts')
        .selectAll()
        .where('endpoint', '=', endpoint)
        .orderBy('created_at', 'desc')
        .executeTakeFirst(),
    runningRollouts: () => db.selectFrom('rollouts').selectAll().where('state', '=', 'running').execute(),
    insertRollout: (trx: Transaction<Database>, row: RolloutTable) =>
      trx.insertInto('rollouts').values(row).execute(),
    updateRollout: (trx: Transaction<Database> | typeof db, id: string, changes: Partial<RolloutTable>) =>
      trx.updateTable('rollouts').set(changes).where('id', '=', id).execute(),
    /**
     * Takes (or renews) the rollout's lease for `owner` until `until`, unless another process holds an unexpired
     * one. True when this process may act on the rollout now.
     */
    async acquireLease(id: string, owner: string, now: number, until: number): Promise<boolean> {
      const result = await db
        .updateTable('rollouts')
        .set({ lease_owner: owner, lease_until: until })
        .where('id', '=', id)
        .where(leaseAvailableTo(owner, now))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

export type DeploymentStore = ReturnType<typeof createDeploymentStore>;
