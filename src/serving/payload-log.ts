import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One inference, as monitoring sees it. */
export interface PayloadRecord {
  requestId: string;
  timestampMs: number;
  model: string;
  version: string;
  /** The endpoint the request was sent to, when it was routed by one. */
  endpoint?: string;
  /** A shadow's copy of an endpoint's request (its answer was not returned to the caller). */
  shadow?: boolean;
  /** Rows in the request: each input's values hold `rows` × its row width, row-major. */
  rows: number;
  latencyMs: number;
  inputs: Record<string, unknown[]>;
  outputs: Record<string, unknown[]>;
}

/** Where records go (a file, a table, a queue). `write` may be slow; the logger never waits for it. */
export interface PayloadSink {
  write(records: PayloadRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface PayloadLoggerOptions {
  /** Records held in memory at most; past it new records are dropped and counted. */
  maxBuffered: number;
  /** How often buffered records are flushed. */
  flushIntervalMs: number;
  /** Records per write call. */
  maxBatch: number;
  onWritten?(count: number): void;
  onDropped?(count: number): void;
}

/**
 * A bounded, asynchronous hand-off from the request path to a sink. `log` is O(1) and never blocks or throws;
 * when the buffer is full or the sink fails, records are dropped and counted instead of slowing requests.
 */
export function createPayloadLogger(sink: PayloadSink, options: PayloadLoggerOptions) {
  let buffer: PayloadRecord[] = [];
  let writing = false;
  let closed = false;
  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  let inFlight: Promise<void> | undefined;

  async function drainBuffer(): Promise<void> {
    while (buffer.length > 0) {
      const batch = buffer.slice(0, options.maxBatch);
      buffer = buffer.slice(batch.length);
      try {
        await sink.write(batch);
        options.onWritten?.(batch.length);
      } catch {
        options.onDropped?.(batch.length);
      }
    }
  }

  /** Writes everything buffered; a call during a write waits for it and then writes what came in meanwhile. */
  async function flush(): Promise<void> {
    while (inFlight !== undefined) await inFlight;
    if (buffer.length === 0) return;
    writing = true;
    inFlight = drainBuffer().finally(() => {
      writing = false;
      inFlight = undefined;
    });
    await inFlight;
  }

  return {
    log(record: PayloadRecord): void {
      if (closed || buffer.length >= options.maxBuffered) {
        options.onDropped?.(1);
        return;
      }
      buffer.push(record);
      if (buffer.length >= options.maxBatch) queueMicrotask(() => void flush());
    },
    get buffered() {
      return buffer.length;
    },
    flush,
    /** Flushes what is buffered, then closes the sink. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      while (writing) await new Promise((r) => setTimeout(r, 5));
      await flush();
      await sink.close();
    },
  };
}

export type PayloadLogger = ReturnType<typeof createPayloadLogger>;

/**
 * Newline-delimited JSON files, one per hour and model, rotated at `maxFileBytes`: DuckDB reads them as they
 * are (`read_json_auto('payloads/**\/*.jsonl')`). The monitoring module builds on this.
 */
export function createJsonlPayloadSink(dir: string, maxFileBytes = 64 * 1024 * 1024): PayloadSink {
  let current: { path: string; stream: WriteStream; bytes: number } | undefined;
  let part = 0;

  /** The file name stem of a record: its model's folder and the hour it was logged in (the last one kept). */
  let last = { model: '', hour: Number.NaN, base: '' };
  const baseOf = (record: PayloadRecord): string => {
    const hour = Math.floor(record.timestampMs / 3_600_000);
    if (hour === last.hour && record.model === last.model) return last.base;
    const stamp = new Date(hour * 3_600_000).toISOString().slice(0, 13).replace('T', '-');
    last = { model: record.model, hour, base: join(dir, record.model.replaceAll('/', '_'), stamp) };
    return last.base;
  };

  const fileFor = async (base: string): Promise<{ stream: WriteStream; bytes: number; path: string }> => {
    if (current?.path.startsWith(base) && current.bytes < maxFileBytes) return current;
    if (current !== undefined) {
      const stream = current.stream;
      await new Promise<void>((resolve) => stream.end(resolve));
      if (current.path.startsWith(base)) part++;
      else part = 0;
    }
    await mkdir(dirname(base), { recursive: true });
    const path = `${base}-${part}.jsonl`;
    current = { path, stream: createWriteStream(path, { flags: 'a' }), bytes: 0 };
    return current;
  };

  return {
    async write(records) {
      // One write per run of records that share a file: grouped by name first, so a record bound for another
      // file never rotates the stream under lines still waiting to be written.
      let start = 0;
      while (start < records.length) {
        const base = baseOf(records[start] as PayloadRecord);
        let end = start;
        const lines: string[] = [];
        while (end < records.length && baseOf(records[end] as PayloadRecord) === base) {
          lines.push(JSON.stringify(records[end]));
          end++;
        }
        const file = await fileFor(base);
        const chunk = `${lines.join('\n')}\n`;
        file.bytes += Buffer.byteLength(chunk);
        if (!file.stream.write(chunk))
          await new Promise<void>((resolve) => file.stream.once('drain', () => resolve()));
        start = end;
      }
    },
    async close() {
      const stream = current?.stream;
      if (stream !== undefined) await new Promise<void>((resolve) => stream.end(resolve));
      current = undefined;
    },
  };
}
