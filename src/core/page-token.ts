import { invalidParameter } from './errors.js';

/**
 * Offset page tokens, base64 JSON like MLflow's (`{"offset": 100}`), so a token from one server works after a
 * restart or on another replica.
 */
export const encodePageToken = (offset: number): string =>
  Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64');

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalidParameter(`Invalid page token '${token}': could not base64-decode it to JSON`);
  }
  const offset = (parsed as { offset?: unknown } | null)?.offset;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw invalidParameter(
      `Invalid page token '${token}': expected a JSON object with a non-negative 'offset'`,
    );
  }
  return offset;
}
