import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { invalidParameter } from '../core/errors.js';
import type { OnDemandDef, ValueType } from './definitions.js';

/**
 * An on-demand transform: one row's inputs (the fields of its source views and its request fields, by field
 * name) to its output fields. The same function runs in historical retrieval and in online serving, so
 * training and serving compute the same values.
 */
export type RowTransform = (row: Record<string, unknown>) => Record<string, unknown>;

/** Loads the exported function of an on-demand view's module (dynamic import; a JS module, or TS under tsx). */
export async function loadTransform(def: OnDemandDef): Promise<RowTransform> {
  let module: Record<string, unknown>;
  try {
    // The file's mtime in the URL: Node caches modules by URL, and an edited transform must load anew on apply.
    const { mtimeMs } = await stat(def.module);
    module = (await import(`${pathToFileURL(def.module).href}?v=${Math.trunc(mtimeMs)}`)) as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw invalidParameter(
      `on-demand feature view '${def.name}': cannot load module '${def.module}': ${(error as Error).message}`,
    );
  }
  const fn = module[def.function];
  if (typeof fn !== 'function') {
    throw invalidParameter(
      `on-demand feature view '${def.name}': module '${def.module}' exports no function '${def.function}' (exports: ${Object.keys(module).join(', ') || 'none'})`,
    );
  }
  return fn as RowTransform;
}

/** Coerces a transform's answer to the declared output types; a value of the wrong kind becomes null. */
export function runTransform(
  def: OnDemandDef,
  fn: RowTransform,
  row: Record<string, unknown>,
): Record<string, unknown> {
  let answer: unknown;
  try {
    answer = fn(row);
  } catch (error) {
    throw invalidParameter(
      `on-demand feature view '${def.name}': function '${def.function}' failed: ${(error as Error).message}`,
    );
  }
  const out: Record<string, unknown> = {};
  const record = (answer ?? {}) as Record<string, unknown>;
  for (const f of def.fields) out[f.name] = coerce(record[f.name], f.dtype);
  return out;
}

/** Converts a value to a field's type: numbers must be finite, int types are truncated. */
export function coerce(value: unknown, type: ValueType): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'string':
      return String(value);
    case 'bool':
      return typeof value === 'boolean' ? value : null;
    default: {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) return null;
      return type === 'int32' || type === 'int64' ? Math.trunc(n) : type === 'float32' ? Math.fround(n) : n;
    }
  }
}
