import type { Transaction } from 'kysely';
import {
  type Database,
  leaseAvailableTo,
  type MetadataDb,
  type PipelineRunTable,
  type PipelineStepTable,
  type PipelineTable,
  type PipelineVersionTable,
} from '../storage/index.js';

type Db = MetadataDb['db'] | Transaction<Database>;

/** SQL of pipelines, their versions, runs, step runs and the scheduler lease. */
export function createPipelineStore(metadata: MetadataDb) {
  const { db } = metadata;
  return {
    transaction: <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> =>
      db.transaction().execute(work),

    getPipeline: (name: string, trx: Db = db) =>
      trx.selectFrom('pipelines').selectAll().where('name', '=', name).executeTakeFirst(),
    listPipelines: () => db.selectFrom('pipelines').selectAll().orderBy('name').execute(),
    insertPipeline: (trx: Db, row: PipelineTable) => trx.insertInto('pipelines').values(row).execute(),
    updatePipeline: (trx: Db, name: string, changes: Partial<PipelineTable>) =>
      trx.updateTable('pipelines').set(changes).where('name', '=', name).execute(),
    getVersion: (name: string, version: number, trx: Db = db) =>
      trx
        .selectFrom('pipeline_versions')
        .selectAll()
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst(),
    insertVersion: (trx: Db, row: PipelineVersionTable) =>
      trx.insertInto('pipeline_versions').values(row).execute(),

    /** Moves the cron marker from `from` to `to` unless another process already did: true when this one won. */
    async claimFire(name: string, from: number | null, to: number): Promise<boolean> {
      const result = await db
        .updateTable('pipelines')
        .set({ last_fire_at: to })
        .where('name', '=', name)
        .where((eb) => (from === null ? eb('last_fire_at', 'is', null) : eb('last_fire_at', '=', from)))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    /** Like claimFire, for the data trigger's fingerprint. */
    async claimFingerprint(name: string, from: string | null, to: string): Promise<boolean> {
      const result = await db
        .updateTable('pipelines')
        .set({ data_fingerprint: to })
        .where('name', '=', name)
        .where((eb) =>
          from === null ? eb('data_fingerprint', 'is', null) : eb('data_fingerprint', '=', from),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    getRun: (id: string, trx: Db = db) =>
      trx.selectFrom('pipeline_runs').selectAll().where('id', '=', id).executeTakeFirst(),
    listRuns: (pipeline: string, limit: number) =>
      db
        .selectFrom('pipeline_runs')
        .selectAll()
        .where('pipeline', '=', pipeline)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute(),
    insertRun: (trx: Db, row: PipelineRunTable) => trx.insertInto('pipeline_runs').values(row).execute(),
    updateRun: (id: string, changes: Partial<PipelineRunTable>, trx: Db = db) =>
      trx.updateTable('pipeline_runs').set(changes).where('id', '=', id).execute(),
    /** Runs left `running` by a process whose lease ran out (it died): they are marked failed, to be resumed. */
    orphanedRuns: (now: number) =>
      db
        .selectFrom('pipeline_runs')
        .selectAll()
        .where('status', '=', 'running')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .execute(),
    /** Takes or renews a run's lease; false when another live process holds it. */
    async leaseRun(id: string, owner: string, now: number, until: number): Promise<boolean> {
      const result = await db
        .updateTable('pipeline_runs')
        .set({ lease_owner: owner, lease_until: until })
        .where('id', '=', id)
        .where(leaseAvailableTo(owner, now))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    steps: (runId: string, trx: Db = db) =>
      trx.selectFrom('pipeline_steps').selectAll().where('run_id', '=', runId).orderBy('position').execute(),
    getStep: (runId: string, step: string) =>
      db
        .selectFrom('pipeline_steps')
        .selectAll()
        .where('run_id', '=', runId)
        .where('step', '=', step)
        .executeTakeFirst(),
    insertSteps: (trx: Db, rows: PipelineStepTable[]) =>
      trx.insertInto('pipeline_steps').values(rows).execute(),
    updateStep: (runId: string, step: string, changes: Partial<PipelineStepTable>, trx: Db = db) =>
      trx
        .updateTable('pipeline_steps')
        .set(changes)
        .where('run_id', '=', runId)
        .where('step', '=', step)
        .execute(),
    /** The latest step run of this pipeline step that finished with this cache key, whose outputs can be reused. */
    findCached: (pipeline: string, step: string, cacheKey: string) =>
      db
        .selectFrom('pipeline_steps')
        .selectAll()
        .where('pipeline', '=', pipeline)
        .where('step', '=', step)
        .where('cache_key', '=', cacheKey)
        .where('status', 'in', ['succeeded', 'cached'])
        .orderBy('finished_at', 'desc')
        .executeTakeFirst(),

    /** Takes (or renews) a named lease for `owner` until `until`, unless another process holds an unexpired one. */
    async acquireLease(name: string, owner: string, now: number, until: number): Promise<boolean> {
      await db
        .insertInto('pipeline_leases')
        .values({ name, owner: null, until: null })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const result = await db
        .updateTable('pipeline_leases')
        .set({ owner, until })
        .where('name', '=', name)
        .where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', owner), eb('until', '<', now)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    releaseLease: (name: string, owner: string) =>
      db
        .updateTable('pipeline_leases')
        .set({ owner: null, until: null })
        .where('name', '=', name)
        .where('owner', '=', owner)
        .execute(),
  };
}

export type PipelineStore = ReturnType<typeof createPipelineStore>;
