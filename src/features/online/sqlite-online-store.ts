import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import type { OnlineRecord, OnlineStore, OnlineWrite } from './online-store.js';

const READ_BATCH = 100;

/**
 * The embedded online store: its own SQLite file (not the metadata database, so materialization's writes never
 * hold the control plane's write lock), in WAL mode so reads never wait on a writer. Reads are synchronous
 * lookups on the primary key, well under a millisecond.
 */
export function createSqliteOnlineStore(path: string): OnlineStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Lookups are random over the whole table: map the file (no read() call per B-tree page) and keep a page
  // cache that holds a few hundred thousand entities' rows, instead of SQLite's 2 MB default.
  db.pragma('mmap_size = 1073741824');
  db.pragma('cache_size = -131072');
  db.exec(`CREATE TABLE IF NOT EXISTS online_features (
    view TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    event_ts INTEGER NOT NULL,
    values_json TEXT NOT NULL,
    PRIMARY KEY (view, entity_key)
  ) WITHOUT ROWID`);
  const upsert = db.prepare(
    `INSERT INTO online_features (view, entity_key, event_ts, values_json) VALUES (?, ?, ?, ?)
     ON CONFLICT (view, entity_key) DO UPDATE SET event_ts = excluded.event_ts, values_json = excluded.values_json
     WHERE excluded.event_ts >= online_features.event_ts`,
  );
  const readOne = db.prepare<[string, string], { event_ts: number; values_json: string }>(
    'SELECT event_ts, values_json FROM online_features WHERE view = ? AND entity_key = ?',
  );
  const readStatements = new Map<
    number,
    SQLite.Statement<string[], { entity_key: string; event_ts: number; values_json: string }>
  >();
  const readMany = (count: number) => {
    let statement = readStatements.get(count);
    if (statement === undefined) {
      statement = db.prepare(
        `SELECT entity_key, event_ts, values_json FROM online_features
         WHERE view = ? AND entity_key IN (${new Array(count).fill('?').join(', ')})`,
      );
      readStatements.set(count, statement);
    }
    return statement;
  };
  const writeAll = db.transaction((view: string, rows: readonly OnlineWrite[]) => {
    let written = 0;
    for (const row of rows)
      written += upsert.run(view, row.key, row.eventTsMs, JSON.stringify(row.values)).changes;
    return written;
  });
  const toRecord = (row: { event_ts: number; values_json: string }): OnlineRecord => ({
    eventTsMs: row.event_ts,
    values: JSON.parse(row.values_json) as Record<string, unknown>,
  });
  return {
    kind: 'sqlite',
    async write(view, rows) {
      return writeAll(view, rows);
    },
    async read(view, keys) {
      if (keys.length === 1) {
        const row = readOne.get(view, keys[0] as string);
        return [row === undefined ? undefined : toRecord(row)];
      }
      // Batches of primary-key lookups in one statement (`IN (?, ?, ...)`, cached per size): one call into SQLite
      // per batch. (`IN (SELECT value FROM json_each(?))` scanned the table instead of using the key.)
      const found = new Map<string, OnlineRecord>();
      for (let start = 0; start < keys.length; start += READ_BATCH) {
        const batch = keys.slice(start, start + READ_BATCH);
        for (const row of readMany(batch.length).all(view, ...batch))
          found.set(row.entity_key, toRecord(row));
      }
      return keys.map((k) => found.get(k));
    },
    async deleteView(view) {
      db.prepare('DELETE FROM online_features WHERE view = ?').run(view);
    },
    async close() {
      db.close();
    },
  };
}
