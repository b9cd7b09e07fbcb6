import { type Expression, type Kysely, type SqlBool, sql, type Transaction } from 'kysely';
import type { Database, DialectName, MetadataDb, RunTable } from '../storage/index.js';
import type { Dataset, DatasetInput, KeyValue, LifecycleStage, MetricInput, ViewType } from './model.js';
import type { FilterClause, OrderByClause } from './search-filter.js';

export type Db = Kysely<Database> | Transaction<Database>;

export interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

export interface RunData {
  metrics: Map<string, { value: number; timestamp: number; step: number; is_nan: number; key: string }[]>;
  params: Map<string, KeyValue[]>;
  tags: Map<string, KeyValue[]>;
  inputs: Map<string, DatasetInput[]>;
}

/** MLflow stores infinities as the largest doubles, so they sort and compare in SQL. */
const MAX_DOUBLE = 1.7976931348623157e308;

const toStoredMetric = (runId: string, metric: MetricInput) => {
  const isNan = Number.isNaN(metric.value);
  let value = isNan ? 0 : metric.value;
  if (value === Number.POSITIVE_INFINITY) value = MAX_DOUBLE;
  if (value === Number.NEGATIVE_INFINITY) value = -MAX_DOUBLE;
  return {
    run_id: runId,
    key: metric.key,
    value,
    timestamp: metric.timestamp,
    step: metric.step,
    is_nan: isNan ? 1 : 0,
  };
};

/** Decodes a stored metric value back to the number that was logged. */
export const fromStoredMetric = (value: number, isNan: number): number => {
  if (isNan === 1) return Number.NaN;
  if (value >= MAX_DOUBLE) return Number.POSITIVE_INFINITY;
  if (value <= -MAX_DOUBLE) return Number.NEGATIVE_INFINITY;
  return value;
};

const lifecycleFilter = (viewType: ViewType): LifecycleStage[] =>
  viewType === 'ACTIVE_ONLY' ? ['active'] : viewType === 'DELETED_ONLY' ? ['deleted'] : ['active', 'deleted'];

/** The SQL of tracking: every statement lives here; the service decides what to run and validates. */
export function createTrackingStore(metadata: MetadataDb) {
  const { db, dialect } = metadata;
  const compare = (column: Expression<unknown>, clause: FilterClause) =>
    compareClause(dialect, column, clause);

  const clauseCondition = (clause: FilterClause): Expression<SqlBool> => {
    switch (clause.entity) {
      case 'metric':
        return sql<SqlBool>`exists (select 1 from latest_metrics m where m.run_id = runs.run_id and m.key = ${clause.key}
          and m.is_nan = 0 and ${compare(sql.ref('m.value'), clause)})`;
      case 'param':
      case 'tag': {
        const table = sql.table(clause.entity === 'param' ? 'params' : 'tags');
        if (clause.comparator === 'IS NULL') {
          return sql<SqlBool>`not exists (select 1 from ${table} t where t.run_id = runs.run_id and t.key = ${clause.key})`;
        }
        if (clause.comparator === 'IS NOT NULL') {
          return sql<SqlBool>`exists (select 1 from ${table} t where t.run_id = runs.run_id and t.key = ${clause.key})`;
        }
        return sql<SqlBool>`exists (select 1 from ${table} t where t.run_id = runs.run_id and t.key = ${clause.key}
          and ${compare(sql.ref('t.value'), clause)})`;
      }
      case 'attribute':
        return compare(sql.ref(`runs.${runAttributeColumn(clause.key)}`), clause);
      case 'dataset':
        return sql<SqlBool>`exists (select 1 from run_inputs ri join datasets d on d.dataset_id = ri.dataset_id
          where ri.run_id = runs.run_id and ${compare(sql.ref(clause.key === 'context' ? 'ri.context' : `d.${clause.key}`), clause)})`;
    }
  };

  /** Table holding the sort key of a metric/param/tag order clause; attributes sort on the runs row itself. */
  const orderTable = (order: OrderByClause): 'latest_metrics' | 'params' | 'tags' | undefined =>
    order.entity === 'metric'
      ? 'latest_metrics'
      : order.entity === 'param'
        ? 'params'
        : order.entity === 'tag'
          ? 'tags'
          : undefined;

  return {
    db,
    dialect,
    transaction: <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> =>
      db.transaction().execute(work),

    async insertExperiment(
      trx: Db,
      row: Omit<ExperimentRow, 'experiment_id'>,
      tags: KeyValue[],
    ): Promise<number> {
      const inserted = await trx
        .insertInto('experiments')
        .values(row)
        .returning('experiment_id')
        .executeTakeFirstOrThrow();
      const id = inserted.experiment_id;
      if (tags.length > 0) {
        await trx
          .insertInto('experiment_tags')
          .values(tags.map((t) => ({ experiment_id: id, key: t.key, value: t.value })))
          .execute();
      }
      return id;
    },

    getExperiment: (trx: Db, id: number) =>
      trx.selectFrom('experiments').selectAll().where('experiment_id', '=', id).executeTakeFirst(),

    getExperimentByName: (trx: Db, name: string) =>
      trx.selectFrom('experiments').selectAll().where('name', '=', name).executeTakeFirst(),

    async experimentTags(trx: Db, ids: number[]): Promise<Map<number, KeyValue[]>> {
      const byId = new Map<number, KeyValue[]>();
      if (ids.length === 0) return byId;
      const rows = await trx
        .selectFrom('experiment_tags')
        .selectAll()
        .where('experiment_id', 'in', ids)
        .orderBy('key')
        .execute();
      for (const row of rows) pushTo(byId, row.experiment_id, { key: row.key, value: row.value });
      return byId;
    },

    async updateExperiment(trx: Db, id: number, changes: Partial<Omit<ExperimentRow, 'experiment_id'>>) {
      await trx.updateTable('experiments').set(changes).where('experiment_id', '=', id).execute();
    },

    async setExperimentTag(trx: Db, id: number, tag: KeyValue) {
      await trx
        .insertInto('experiment_tags')
        .values({ experiment_id: id, key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value: tag.value }))
        .execute();
    },

    async deleteExperimentTag(trx: Db, id: number, key: string) {
      await trx
        .deleteFrom('experiment_tags')
        .where('experiment_id', '=', id)
        .where('key', '=', key)
        .execute();
    },

    async setRunsLifecycle(trx: Db, experimentId: number, stage: LifecycleStage, deletedTime: number | null) {
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: deletedTime })
        .where('experiment_id', '=', experimentId)
        .execute();
    },

    async searchExperiments(
      trx: Db,
      query: {
        viewType: ViewType;
        filter: FilterClause[];
        orderBy: OrderByClause[];
        offset: number;
        limit: number;
      },
    ): Promise<ExperimentRow[]> {
      let select = trx
        .selectFrom('experiments')
        .selectAll()
        .where('lifecycle_stage', 'in', lifecycleFilter(query.viewType));
      for (const clause of query.filter) {
        if (clause.entity === 'tag') {
          select = select.where(
            sql<SqlBool>`exists (select 1 from experiment_tags t where t.experiment_id = experiments.experiment_id
              and t.key = ${clause.key} and ${compare(sql.ref('t.value'), clause)})`,
          );
        } else {
          select = select.where(compare(sql.ref(`experiments.${experimentColumn(clause.key)}`), clause));
        }
      }
      for (const order of query.orderBy) {
        select = select.orderBy(
          sql.ref(`experiments.${experimentColumn(order.key)}`),
          order.ascending ? 'asc' : 'desc',
        );
      }
      if (query.orderBy.length === 0) select = select.orderBy('creation_time', 'desc');
      return select.orderBy('experiment_id', 'asc').limit(query.limit).offset(query.offset).execute();
    },

    async insertRun(trx: Db, row: RunTable, tags: KeyValue[]) {
      await trx.insertInto('runs').values(row).execute();
      if (tags.length > 0) {
        await trx
          .insertInto('tags')
          .values(tags.map((t) => ({ run_id: row.run_id, ...t })))
          .execute();
      }
    },

    getRun: (trx: Db, runId: string) =>
      trx.selectFrom('runs').selectAll().where('run_id', '=', runId).executeTakeFirst(),

    async updateRun(trx: Db, runId: string, changes: Partial<RunTable>) {
      await trx.updateTable('runs').set(changes).where('run_id', '=', runId).execute();
    },

    async loadRunData(trx: Db, runIds: string[]): Promise<RunData> {
      const data: RunData = { metrics: new Map(), params: new Map(), tags: new Map(), inputs: new Map() };
      if (runIds.length === 0) return data;
      const [metrics, params, tags, inputs] = await Promise.all([
        trx.selectFrom('latest_metrics').selectAll().where('run_id', 'in', runIds).orderBy('key').execute(),
        trx.selectFrom('params').selectAll().where('run_id', 'in', runIds).orderBy('key').execute(),
        trx.selectFrom('tags').selectAll().where('run_id', 'in', runIds).orderBy('key').execute(),
        trx
          .selectFrom('run_inputs')
          .innerJoin('datasets', 'datasets.dataset_id', 'run_inputs.dataset_id')
          .select([
            'run_inputs.run_id',
            'run_inputs.tags_json',
            'datasets.name',
            'datasets.digest',
            'datasets.source_type',
            'datasets.source',
            'datasets.schema',
            'datasets.profile',
          ])
          .where('run_inputs.run_id', 'in', runIds)
          .orderBy('datasets.name')
          .execute(),
      ]);
      for (const m of metrics) pushTo(data.metrics, m.run_id, m);
      for (const p of params) pushTo(data.params, p.run_id, { key: p.key, value: p.value });
      for (const t of tags) pushTo(data.tags, t.run_id, { key: t.key, value: t.value });
      for (const i of inputs) {
        const dataset: Dataset = {
          name: i.name,
          digest: i.digest,
          source_type: i.source_type,
          source: i.source,
        };
        if (i.schema !== null) dataset.schema = i.schema;
        if (i.profile !== null) dataset.profile = i.profile;
        const tagList = JSON.parse(i.tags_json) as KeyValue[];
        pushTo(data.inputs, i.run_id, tagList.length > 0 ? { tags: tagList, dataset } : { dataset });
      }
      return data;
    },

    async paramsOf(trx: Db, runId: string, keys: string[]): Promise<Map<string, string>> {
      if (keys.length === 0) return new Map();
      const rows = await trx
        .selectFrom('params')
        .select(['key', 'value'])
        .where('run_id', '=', runId)
        .where('key', 'in', keys)
        .execute();
      return new Map(rows.map((r) => [r.key, r.value]));
    },

    async insertParams(trx: Db, runId: string, params: KeyValue[]) {
      if (params.length === 0) return;
      await trx
        .insertInto('params')
        .values(params.map((p) => ({ run_id: runId, ...p })))
        .onConflict((oc) => oc.columns(['run_id', 'key']).doNothing())
        .execute();
    },

    async upsertTags(trx: Db, runId: string, tags: KeyValue[]) {
      for (const tag of tags) {
        await trx
          .insertInto('tags')
          .values({ run_id: runId, ...tag })
          .onConflict((oc) => oc.columns(['run_id', 'key']).doUpdateSet({ value: tag.value }))
          .execute();
      }
    },

    deleteTag: (trx: Db, runId: string, key: string) =>
      trx.deleteFrom('tags').where('run_id', '=', runId).where('key', '=', key).executeTakeFirst(),

    /**
     * Appends metric points and moves each key's latest value forward. "Latest" is MLflow's order: highest
     * step, then timestamp, then value; a late point with a lower step never replaces a newer one.
     */
    async insertMetrics(trx: Db, runId: string, metrics: MetricInput[]) {
      if (metrics.length === 0) return;
      const rows = metrics.map((m) => toStoredMetric(runId, m));
      // Chunked: SQLite caps bound parameters per statement.
      for (let i = 0; i < rows.length; i += 150) {
        await trx
          .insertInto('metrics')
          .values(rows.slice(i, i + 150))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      const latestByKey = new Map<string, (typeof rows)[number]>();
      for (const row of rows) {
        const current = latestByKey.get(row.key);
        if (current === undefined || isNewer(row, current)) latestByKey.set(row.key, row);
      }
      const latest = [...latestByKey.values()];
      for (let i = 0; i < latest.length; i += 150) {
        await trx
          .insertInto('latest_metrics')
          .values(latest.slice(i, i + 150))
          .onConflict((oc) =>
            oc
              .columns(['run_id', 'key'])
              .doUpdateSet({
                value: (eb) => eb.ref('excluded.value'),
                timestamp: (eb) => eb.ref('excluded.timestamp'),
                step: (eb) => eb.ref('excluded.step'),
                is_nan: (eb) => eb.ref('excluded.is_nan'),
              })
              .where((eb) =>
                eb.or([
                  eb('excluded.step', '>', eb.ref('latest_metrics.step')),
                  eb.and([
                    eb('excluded.step', '=', eb.ref('latest_metrics.step')),
                    eb('excluded.timestamp', '>', eb.ref('latest_metrics.timestamp')),
                  ]),
                  eb.and([
                    eb('excluded.step', '=', eb.ref('latest_metrics.step')),
                    eb('excluded.timestamp', '=', eb.ref('latest_metrics.timestamp')),
                    eb('excluded.value', '>', eb.ref('latest_metrics.value')),
                  ]),
                ]),
              ),
          )
          .execute();
      }
    },

    metricHistory: (trx: Db, runId: string, key: string, offset: number, limit: number) =>
      trx
        .selectFrom('metrics')
        .selectAll()
        .where('run_id', '=', runId)
        .where('key', '=', key)
        .orderBy('step')
        .orderBy('timestamp')
        .orderBy('value')
        .limit(limit)
        .offset(offset)
        .execute(),

    async upsertDataset(trx: Db, experimentId: number, datasetId: string, dataset: Dataset): Promise<string> {
      const existing = await trx
        .selectFrom('datasets')
        .select('dataset_id')
        .where('experiment_id', '=', experimentId)
        .where('name', '=', dataset.name)
        .where('digest', '=', dataset.digest)
        .executeTakeFirst();
      if (existing !== undefined) return existing.dataset_id;
      await trx
        .insertInto('datasets')
        .values({
          dataset_id: datasetId,
          experiment_id: experimentId,
          name: dataset.name,
          digest: dataset.digest,
          source_type: dataset.source_type,
          source: dataset.source,
          schema: dataset.schema ?? null,
          profile: dataset.profile ?? null,
        })
        .execute();
      return datasetId;
    },

    async linkRunInput(trx: Db, runId: string, datasetId: string, tags: KeyValue[], context: string | null) {
      await trx
        .insertInto('run_inputs')
        .values({ run_id: runId, dataset_id: datasetId, context, tags_json: JSON.stringify(tags) })
        .onConflict((oc) => oc.columns(['run_id', 'dataset_id']).doNothing())
        .execute();
    },

    async searchRuns(
      trx: Db,
      query: {
        experimentIds: number[];
        viewType: ViewType;
        filter: FilterClause[];
        orderBy: OrderByClause[];
        offset: number;
        limit: number;
      },
    ): Promise<RunTable[]> {
      let select = trx
        .selectFrom('runs')
        .selectAll('runs')
        .where('runs.experiment_id', 'in', query.experimentIds)
        .where('runs.lifecycle_stage', 'in', lifecycleFilter(query.viewType));
      for (const clause of query.filter) select = select.where(clauseCondition(clause));
      query.orderBy.forEach((order, index) => {
        const table = orderTable(order);
        // One left join per sort key: far cheaper than a correlated subquery evaluated per row and per use.
        const alias = `o${index}` as 'o';
        let expression: Expression<unknown>;
        if (table === undefined) expression = sql.ref(`runs.${runAttributeColumn(order.key)}`);
        else {
          select = select.leftJoin(
            (eb) => eb.selectFrom(table).select(['run_id', 'value']).where('key', '=', order.key).as(alias),
            (join) => join.onRef(`${alias}.run_id`, '=', 'runs.run_id'),
          ) as unknown as typeof select;
          expression = sql.ref(`${alias}.value`);
        }
        // MLflow puts runs without the value last whatever the direction.
        select = select
          .orderBy(sql`${expression} is null`, 'asc')
          .orderBy(expression, order.ascending ? 'asc' : 'desc');
      });
      return select
        .orderBy('runs.start_time', 'desc')
        .orderBy('runs.run_id', 'asc')
        .limit(query.limit)
        .offset(query.offset)
        .execute();
    },
  };
}

export type TrackingStore = ReturnType<typeof createTrackingStore>;

const isNewer = (a: { step: number; timestamp: number; value: number }, b: typeof a): boolean =>
  a.step !== b.step
    ? a.step > b.step
    : a.timestamp !== b.timestamp
      ? a.timestamp > b.timestamp
      : a.value > b.value;

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const RUN_ATTRIBUTE_COLUMNS: Record<string, keyof RunTable> = {
  run_id: 'run_id',
  run_name: 'run_name',
  status: 'status',
  user_id: 'user_id',
  artifact_uri: 'artifact_uri',
  lifecycle_stage: 'lifecycle_stage',
  start_time: 'start_time',
  created: 'start_time',
  end_time: 'end_time',
  experiment_id: 'experiment_id',
};

function runAttributeColumn(key: string): string {
  const column = RUN_ATTRIBUTE_COLUMNS[key];
  // The parser admits only known attributes; reaching here with another is a programming error.
  if (column === undefined) throw new Error(`No run column for attribute '${key}'`);
  return column;
}

function experimentColumn(key: string): string {
  if (['name', 'experiment_id', 'creation_time', 'last_update_time'].includes(key)) return key;
  throw new Error(`No experiment column for attribute '${key}'`);
}

/**
 * SQL for one filter comparison on a column. LIKE is case-sensitive on both dialects (SQLite's LIKE is not, so
 * it becomes GLOB there); ILIKE is case-insensitive.
 */
export function compareClause(
  dialect: DialectName,
  column: Expression<unknown>,
  clause: FilterClause,
): Expression<SqlBool> {
  const value = clause.value;
  switch (clause.comparator) {
    case 'LIKE':
      return dialect === 'postgres'
        ? sql<SqlBool>`${column} like ${String(value)}`
        : sql<SqlBool>`${column} glob ${likeToGlob(String(value))}`;
    case 'ILIKE':
      return dialect === 'postgres'
        ? sql<SqlBool>`${column} ilike ${String(value)}`
        : sql<SqlBool>`lower(${column}) like lower(${String(value)})`;
    case 'IN':
      return sql<SqlBool>`${column} in (${sql.join((value as string[]).map((v) => sql`${v}`))})`;
    case 'NOT IN':
      return sql<SqlBool>`${column} not in (${sql.join((value as string[]).map((v) => sql`${v}`))})`;
    case 'IS NULL':
      return sql<SqlBool>`${column} is null`;
    case 'IS NOT NULL':
      return sql<SqlBool>`${column} is not null`;
    default:
      return sql<SqlBool>`${column} ${sql.raw(clause.comparator === '!=' ? '<>' : clause.comparator)} ${value}`;
  }
}

/** SQL LIKE (% and _) to SQLite GLOB, which is case-sensitive like MLflow's LIKE on PostgreSQL and MySQL. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}
