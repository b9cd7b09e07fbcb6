import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken } from './page-token.js';

describe('page tokens', () => {
  it('round-trips offsets and treats no token as the start', () => {
    expect(decodePageToken(encodePageToken(250))).toBe(250);
    expect(decodePageToken(undefined)).toBe(0);
    expect(decodePageToken('')).toBe(0);
  });

  it('refuses tokens it did not make', () => {
    expect(() => decodePageToken('!!!')).toThrow(/Invalid page token/);
    expect(() => decodePageToken(Buffer.from('{"offset":-1}').toString('base64'))).toThrow(/non-negative/);
    expect(() => decodePageToken(Buffer.from('[]').toString('base64'))).toThrow(/offset/);
  });
});
