import { type Expression, type Kysely, type SqlBool, sql, type Transaction } from 'kysely';
import type { Database, KeyValueTable, MetadataDb, ModelVersionTable } from '../storage/index.js';
import { compareClause, type FilterClause, type OrderByClause } from '../tracking/index.js';

export type Db = Kysely<Database> | Transaction<Database>;

/** The registry's SQL. Renames touch every table that names the model, in the caller's transaction. */
export function createRegistryStore(metadata: MetadataDb) {
  const { db } = metadata;
  return {
    db,
    dialect: metadata.dialect,
    transaction: <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> =>
      db.transaction().execute(work),

    getModel: (trx: Db, name: string) =>
      trx.selectFrom('registered_models').selectAll().where('name', '=', name).executeTakeFirst(),

    getVersion: (trx: Db, name: string, version: number) =>
      trx
        .selectFrom('model_versions')
        .selectAll()
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst(),

    async maxVersion(trx: Db, name: string): Promise<number> {
      const row = await trx
        .selectFrom('model_versions')
        .select((eb) => eb.fn.max('version').as('max'))
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(row?.max ?? 0);
    },

    insertVersion: (trx: Db, row: ModelVersionTable) =>
      trx.insertInto('model_versions').values(row).execute(),

    async modelTags(trx: Db, names: string[]): Promise<Map<string, KeyValueTable[]>> {
      const map = new Map<string, KeyValueTable[]>();
      if (names.length === 0) return map;
      const rows = await trx
        .selectFrom('registered_model_tags')
        .selectAll()
        .where('name', 'in', names)
        .orderBy('key')
        .execute();
      for (const r of rows) push(map, r.name, { key: r.key, value: r.value });
      return map;
    },

    async aliases(trx: Db, names: string[]): Promise<Map<string, { alias: string; version: number }[]>> {
      const map = new Map<string, { alias: string; version: number }[]>();
      if (names.length === 0) return map;
      const rows = await trx
        .selectFrom('registered_model_aliases')
        .selectAll()
        .where('name', 'in', names)
        .orderBy('alias')
        .execute();
      for (const r of rows) push(map, r.name, { alias: r.alias, version: r.version });
      return map;
    },

    async versionTags(
      trx: Db,
      keys: { name: string; version: number }[],
    ): Promise<Map<string, KeyValueTable[]>> {
      const map = new Map<string, KeyValueTable[]>();
      if (keys.length === 0) return map;
      const names = [...new Set(keys.map((k) => k.name))];
      const rows = await trx
        .selectFrom('model_version_tags')
        .selectAll()
        .where('name', 'in', names)
        .orderBy('key')
        .execute();
      for (const r of rows) push(map, `${r.name}\u0000${r.version}`, { key: r.key, value: r.value });
      return map;
    },

    versionsOf: (trx: Db, name: string) =>
      trx
        .selectFrom('model_versions')
        .selectAll()
        .where('name', '=', name)
        .orderBy('version', 'desc')
        .execute(),

    async renameModel(trx: Db, name: string, newName: string, now: number) {
      await trx
        .updateTable('registered_models')
        .set({ name: newName, last_updated_timestamp: now })
        .where('name', '=', name)
        .execute();
      for (const table of [
        'registered_model_tags',
        'registered_model_aliases',
        'model_versions',
        'model_version_tags',
      ] as const) {
        await trx.updateTable(table).set({ name: newName }).where('name', '=', name).execute();
      }
    },

    async searchModels(
      trx: Db,
      query: { filter: FilterClause[]; orderBy: OrderByClause[]; offset: number; limit: number },
    ) {
      let select = trx.selectFrom('registered_models').selectAll();
      for (const clause of query.filter) {
        select = select.where(
          clause.entity === 'tag'
            ? sql<SqlBool>`exists (select 1 from registered_model_tags t where t.name = registered_models.name
                and t.key = ${clause.key} and ${compareClause(metadata.dialect, sql.ref('t.value'), clause)})`
            : compareClause(
                metadata.dialect,
                sql.ref(`registered_models.${column(MODEL_COLUMNS, clause.key)}`),
                clause,
              ),
        );
      }
      for (const order of query.orderBy) {
        select = select.orderBy(
          sql.ref(`registered_models.${column(MODEL_COLUMNS, order.key)}`),
          order.ascending ? 'asc' : 'desc',
        );
      }
      return select.orderBy('name', 'asc').limit(query.limit).offset(query.offset).execute();
    },

    async searchVersions(
      trx: Db,
      query: { filter: FilterClause[]; orderBy: OrderByClause[]; offset: number; limit: number },
    ) {
      let select = trx.selectFrom('model_versions').selectAll();
      for (const clause of query.filter) {
        const condition: Expression<SqlBool> =
          clause.entity === 'tag'
            ? sql<SqlBool>`exists (select 1 from model_version_tags t where t.name = model_versions.name
                and t.version = model_versions.version and t.key = ${clause.key}
                and ${compareClause(metadata.dialect, sql.ref('t.value'), clause)})`
            : compareClause(
                metadata.dialect,
                sql.ref(`model_versions.${column(VERSION_COLUMNS, clause.key)}`),
                clause,
              );
        select = select.where(condition);
      }
      for (const order of query.orderBy) {
        select = select.orderBy(
          sql.ref(`model_versions.${column(VERSION_COLUMNS, order.key)}`),
          order.ascending ? 'asc' : 'desc',
        );
      }
      return select
        .orderBy('name', 'asc')
        .orderBy('version', 'desc')
        .limit(query.limit)
        .offset(query.offset)
        .execute();
    },

    async deleteModel(trx: Db, name: string) {
      for (const table of [
        'model_version_tags',
        'model_versions',
        'registered_model_aliases',
        'registered_model_tags',
        'registered_models',
      ] as const) {
        await trx.deleteFrom(table).where('name', '=', name).execute();
      }
    },
  };
}

export type RegistryStore = ReturnType<typeof createRegistryStore>;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const MODEL_COLUMNS: Record<string, string> = {
  name: 'name',
  creation_timestamp: 'creation_timestamp',
  last_updated_timestamp: 'last_updated_timestamp',
  timestamp: 'last_updated_timestamp',
};

const VERSION_COLUMNS: Record<string, string> = {
  name: 'name',
  run_id: 'run_id',
  source_path: 'source',
  version_number: 'version',
  creation_timestamp: 'creation_timestamp',
  last_updated_timestamp: 'last_updated_timestamp',
  timestamp: 'last_updated_timestamp',
};

function column(columns: Record<string, string>, key: string): string {
  const name = columns[key];
  // The grammar admits only these keys; anything else is a programming error.
  if (name === undefined) throw new Error(`No registry column for '${key}'`);
  return name;
}
