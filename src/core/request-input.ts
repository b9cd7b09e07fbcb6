import { z } from 'zod';
import { invalidParameter } from './errors.js';

/**
 * Parses request input with a zod schema and turns the first problem into an INVALID_PARAMETER_VALUE error
 * whose message names the parameter, the value received and what was expected, in MLflow's wording.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw invalidParameter('Invalid request');
  const name = issue.path.length === 0 ? 'body' : issue.path.map(String).join('.');
  const received = valueAt(input, issue.path);
  if (received === undefined) {
    throw invalidParameter(
      `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
    );
  }
  throw invalidParameter(
    `Invalid value ${describe(received)} for parameter '${name}' supplied: ${issue.message}. ` +
      'See the API docs for more information about request parameters.',
  );
}

/**
 * `parseInput` for a hot route: a body that `wellFormed` accepts is used as it is (zod would copy every array it
 * checks), anything else goes through the schema, whose error names the field. `wellFormed` must accept only
 * what the schema accepts unchanged.
 */
export function parseInputInPlace<S extends z.ZodType>(
  schema: S,
  input: unknown,
  wellFormed: (input: unknown) => boolean,
): z.output<S> {
  return wellFormed(input) ? (input as z.output<S>) : parseInput(schema, input);
}

/** A JSON object (not null, not an array). */
export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A string of at least one character. */
export const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

/**
 * A 64-bit integer field: proto3 JSON allows it as a number or a decimal string, and query strings always carry
 * strings, so both are accepted.
 */
export const int64 = () =>
  z.union(
    [
      z.number().int(),
      z
        .string()
        .regex(/^-?\d+$/, 'expected an integer')
        .transform(Number),
    ],
    {
      error: (issue) => (issue.input === undefined ? undefined : 'expected an integer'),
    },
  );

/** A double field: a number, or proto3 JSON's "NaN" / "Infinity" / "-Infinity" strings, or a numeric string. */
export const double = () =>
  z.union(
    [
      z.number(),
      z
        .string()
        .refine(
          (s) =>
            s === 'NaN' ||
            s === 'Infinity' ||
            s === '-Infinity' ||
            (s.trim() !== '' && !Number.isNaN(Number(s))),
          {
            message: 'expected a number',
          },
        )
        .transform(Number),
    ],
    { error: (issue) => (issue.input === undefined ? undefined : 'expected a number') },
  );

/** A boolean field that may come from a query string. */
export const bool = () =>
  z.union([
    z.boolean(),
    z.enum(['true', 'false', 'True', 'False']).transform((s) => s.toLowerCase() === 'true'),
  ]);

/** A list that a query string may carry as one value or repeated keys. */
export const repeated = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => (value === undefined || Array.isArray(value) ? value : [value]), z.array(item));

/** A string that must not be empty (MLflow treats '' like a missing required field). */
export const requiredString = () => z.string().min(1, 'expected a non-empty string');
