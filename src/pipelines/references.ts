import { REFERENCE } from './spec.js';

/** A `${params.x}` or `${steps.s.key}` reference found in a string. */
export interface Reference {
  scope: 'params' | 'steps';
  /** `x` for params; `s.key...` for steps. */
  key: string;
}

/**
 * Replaces every reference in `text` with what `lookup` answers. With `shellQuote`, values that are not plain
 * words are single-quoted, so a parameter can never inject shell syntax into a command line.
 */
export async function substitute(
  text: string,
  lookup: (reference: Reference) => Promise<string>,
  options: { shellQuote?: boolean } = {},
): Promise<string> {
  const matches = [...text.matchAll(REFERENCE)];
  if (matches.length === 0) return text;
  const values = await Promise.all(
    matches.map((m) => lookup({ scope: m[1] as Reference['scope'], key: m[2] ?? '' })),
  );
  let out = '';
  let last = 0;
  matches.forEach((m, i) => {
    const value = values[i] ?? '';
    out += text.slice(last, m.index) + (options.shellQuote === true ? quoteForShell(value) : value);
    last = (m.index ?? 0) + m[0].length;
  });
  return out + text.slice(last);
}

/** Plain words pass as they are (so `--lr=${params.lr}` reads naturally); anything else is single-quoted. */
export function quoteForShell(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** The pipeline params a string references. */
export function referencedParams(text: string): string[] {
  return [...text.matchAll(REFERENCE)].filter((m) => m[1] === 'params').map((m) => m[2] ?? '');
}

/** `SLIPWAY_INPUT_<NAME>`: names upper-cased, anything outside [A-Z0-9_] as '_'. */
export const envName = (prefix: string, name: string): string =>
  `${prefix}${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
