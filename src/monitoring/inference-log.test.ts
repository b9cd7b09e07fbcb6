import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createJsonlPayloadSink, type PayloadRecord } from '../serving/index.js';
import { compactInferenceLog } from './inference-log.js';

const HOUR = 3_600_000;
const now = Date.UTC(2026, 10, 23, 12, 30);
const record = (i: number, timestampMs: number): PayloadRecord => ({
  requestId: `r${i}`,
  timestampMs,
  model: 'delay',
  version: '1',
  endpoint: 'flights',
  rows: 1,
  latencyMs: 1.5,
  inputs: { distance: [100 + i], origin: ['SEA'] },
  outputs: { probabilities: [0.3, 0.7] },
});

describe('inference log compaction', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('folds closed hours into Parquet that DuckDB reads, keeps the open hour, expires old files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-log-'));
    // Small parts, so one closed hour spans several JSONL files.
    const sink = createJsonlPayloadSink(dir, 600);
    const records = [
      ...Array.from({ length: 20 }, (_, i) => record(i, now - 2 * HOUR + i)),
      ...Array.from({ length: 5 }, (_, i) => record(100 + i, now - 1000 + i)),
      record(999, now - 10 * 24 * HOUR),
    ];
    for (const r of records) await sink.write([r]);
    await sink.close();
    const before = await readdir(join(dir, 'delay'));
    expect(before.filter((f) => f.startsWith('2026-11-23-10')).length).toBeGreaterThan(1);

    const result = await compactInferenceLog(dir, { nowMs: now, retentionMs: 7 * 24 * HOUR });
    expect(result.expired).toBe(1);
    expect(result.written).toBe(1);
    const after = (await readdir(join(dir, 'delay'))).sort();
    expect(after.filter((f) => !f.startsWith('2026-11-23-12'))).toEqual(['2026-11-23-10-0.parquet']);
    expect(after.filter((f) => f.startsWith('2026-11-23-12')).every((f) => f.endsWith('.jsonl'))).toBe(true);

    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(
      `SELECT count(*)::INT AS n, min(inputs.distance[1])::INT AS lo, max(inputs.distance[1])::INT AS hi, any_value(endpoint) AS e FROM '${join(dir, 'delay', '*.parquet')}'`,
    );
    expect(reader.getRowObjects()).toEqual([{ n: 20, lo: 100, hi: 119, e: 'flights' }]);
    connection.closeSync();
    instance.closeSync();

    // A late line for the compacted hour becomes a second Parquet file, never a rewrite of the first.
    const late = createJsonlPayloadSink(dir);
    await late.write([record(50, now - 2 * HOUR + 50)]);
    await late.close();
    await compactInferenceLog(dir, { nowMs: now, retentionMs: 7 * 24 * HOUR });
    expect((await readdir(join(dir, 'delay'))).filter((f) => f.startsWith('2026-11-23-10')).sort()).toEqual([
      '2026-11-23-10-0.parquet',
      '2026-11-23-10-1.parquet',
    ]);
  });
});
