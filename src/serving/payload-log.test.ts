import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createJsonlPayloadSink, createPayloadLogger, type PayloadRecord } from './payload-log.js';

const record = (model: string, i: number): PayloadRecord => ({
  requestId: `r${i}`,
  timestampMs: Date.UTC(2026, 0, 1, 10),
  model,
  version: '1',
  rows: 1,
  latencyMs: 1,
  inputs: { x: [i] },
  outputs: { y: [i * 2] },
});

describe('payload log', () => {
  it('writes interleaved models of one batch to their own files, losing nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-payloads-'));
    try {
      const sink = createJsonlPayloadSink(dir);
      await sink.write([record('a', 1), record('b', 2), record('a', 3), record('a', 4), record('b', 5)]);
      await sink.close();
      const lines = async (model: string) => {
        const files = await readdir(join(dir, model));
        const text = (await Promise.all(files.map((f) => readFile(join(dir, model, f), 'utf8')))).join('');
        return text
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as PayloadRecord).requestId);
      };
      expect(await lines('a')).toEqual(['r1', 'r3', 'r4']);
      expect(await lines('b')).toEqual(['r2', 'r5']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops and counts instead of buffering past its bound', async () => {
    let dropped = 0;
    const logger = createPayloadLogger(
      { write: () => new Promise(() => undefined), close: async () => undefined },
      { maxBuffered: 3, flushIntervalMs: 60_000, maxBatch: 100, onDropped: (n) => (dropped += n) },
    );
    for (let i = 0; i < 5; i++) logger.log(record('a', i));
    expect(logger.buffered).toBe(3);
    expect(dropped).toBe(2);
  });
});
