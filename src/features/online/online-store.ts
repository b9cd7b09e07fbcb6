/** A feature view's latest values for one entity key, as the online store holds them. */
export interface OnlineRecord {
  /** The values' event timestamp, ms since the epoch (TTL is measured from it). */
  eventTsMs: number;
  values: Record<string, unknown>;
}

export interface OnlineWrite extends OnlineRecord {
  /** From `encodeEntityKey`. */
  key: string;
}

/**
 * The online store seam: (feature view, entity key) -> latest values. A write never replaces a newer value with
 * an older one, so out-of-order pushes and re-materializations are safe. Adapters: SQLite (embedded), Redis.
 */
export interface OnlineStore {
  readonly kind: 'sqlite' | 'redis';
  /** Writes rows of one view; answers how many replaced nothing newer. */
  write(view: string, rows: readonly OnlineWrite[]): Promise<number>;
  /** One answer per key, in order; undefined where the store holds nothing. */
  read(view: string, keys: readonly string[]): Promise<(OnlineRecord | undefined)[]>;
  /** Drops a view's values (after a forced removal). */
  deleteView(view: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store's key for an entity: join key names and values, so two entities with equal values never collide.
 * Values are JSON-encoded, so 1 (int64) and "1" (string) are different keys, as their types differ.
 */
export function encodeEntityKey(names: readonly string[], values: readonly unknown[]): string {
  return `${names.join(',')}=${JSON.stringify(values)}`;
}

/** `encodeEntityKey` for row `row` of column-major entities. */
export type EntityKeyEncoder = (columns: Readonly<Record<string, readonly unknown[]>>, row: number) => string;

/**
 * `encodeEntityKey` with the names fixed, for the online hot path: the prefix is built once, and a single join
 * key (the common case) is encoded without an array of values per row. Keys are equal to `encodeEntityKey`'s.
 */
export function entityKeyEncoder(names: readonly string[]): EntityKeyEncoder {
  const prefix = `${names.join(',')}=`;
  if (names.length === 1) {
    const name = names[0] as string;
    return (columns, row) => `${prefix}[${JSON.stringify(columns[name]?.[row] ?? null)}]`;
  }
  return (columns, row) => `${prefix}${JSON.stringify(names.map((n) => columns[n]?.[row] ?? null))}`;
}
