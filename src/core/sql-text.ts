/** SQL text for DuckDB queries built from names and values the caller validated: quoted, never interpolated raw. */

/** A quoted identifier (column or table name): `"name"`, inner quotes doubled. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** A quoted string literal (a path, a date): `'text'`, inner quotes doubled. */
export const quoteString = (text: string): string => `'${text.replaceAll("'", "''")}'`;
