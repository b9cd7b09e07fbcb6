/** Prints a list as an aligned table, or as JSON with --json. */
export function printRows(
  rows: Record<string, unknown>[],
  options: { json?: boolean },
  jsonValue: unknown = rows,
): void {
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(jsonValue, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const columns = Object.keys(rows[0] ?? {});
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

/** Prints one object: JSON with --json, else `key: value` lines. */
export function printObject(value: object, options: { json?: boolean }): void {
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  for (const [key, v] of Object.entries(value)) process.stdout.write(`${key}: ${formatCell(v)}\n`);
}

export const formatTime = (ms: number | undefined): string =>
  ms === undefined ? '' : new Date(ms).toISOString();

function formatCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
