import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { SlipwayError } from '../core/errors.js';
import { type DialectName, migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

export interface MetadataDb {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Human-readable location without credentials, for logs. */
  location: string;
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Opens the metadata database named by `url` (`sqlite:PATH`, `sqlite::memory:`, or `postgres://...`) and runs
 * the migrations. SQLite runs in WAL mode so readers never wait on the single writer.
 */
export async function openMetadataDb(url: string): Promise<MetadataDb> {
  const opened =
    url.startsWith('postgres://') || url.startsWith('postgresql://') ? openPostgres(url) : openSqlite(url);
  // Domains add their migrations independently; each creates only its own tables, so order across domains is free.
  const migrator = new Migrator({
    db: opened.db,
    provider: migrationProvider(opened.dialect),
    allowUnorderedMigrations: true,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) {
    await opened.close();
    throw new SlipwayError(
      'INTERNAL_ERROR',
      `Database migration failed on ${opened.location}: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  return opened;
}

function openSqlite(url: string): MetadataDb {
  if (!url.startsWith('sqlite:')) {
    throw new SlipwayError(
      'INVALID_PARAMETER_VALUE',
      `Unsupported --db '${url}': expected 'sqlite:PATH' or 'postgres://user:pass@host:port/db'`,
    );
  }
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite', location: path, close: () => db.destroy() };
}

function openPostgres(url: string): MetadataDb {
  const parsed = new URL(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') => {
        // All our int8 values (ms timestamps, steps) fit in a double; numbers keep one shape across dialects.
        if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
        return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
      },
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const location = `postgres://${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  return { db, dialect: 'postgres', location, close: () => db.destroy() };
}
