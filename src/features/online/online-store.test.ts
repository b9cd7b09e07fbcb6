import { describe, expect, it } from 'vitest';
import { encodeEntityKey, entityKeyEncoder } from './online-store.js';

describe('entity keys', () => {
  it('encodes a row of column-major entities exactly as encodeEntityKey encodes its values', () => {
    const columns = {
      origin: ['SEA', 'a "quoted" \\ key', 'é', ''],
      flight_id: [1, 2 ** 53 - 1, -7, 0],
      other: ['x', 'y', 'z', 'w'],
    };
    for (const names of [
      ['origin'],
      ['flight_id'],
      ['origin', 'flight_id'],
      ['flight_id', 'origin', 'other'],
    ]) {
      const encode = entityKeyEncoder(names);
      for (let row = 0; row < 4; row++) {
        const values = names.map((n) => columns[n as keyof typeof columns][row]);
        expect(encode(columns, row)).toBe(encodeEntityKey(names, values));
      }
    }
  });

  it('keeps keys of different types or names apart', () => {
    const byString = entityKeyEncoder(['id'])({ id: ['1'] }, 0);
    const byInt = entityKeyEncoder(['id'])({ id: [1] }, 0);
    const otherName = entityKeyEncoder(['uid'])({ uid: [1] }, 0);
    expect(new Set([byString, byInt, otherName]).size).toBe(3);
  });
});
