import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A light open-loop HTTP/1.1 load generator for latency at a fixed rate. Requests are pre-encoded bytes written to
 * keep-alive sockets, and responses are framed by Content-Length (or the end of a chunked body), so the generator
 * costs a few microseconds per request: on a 2-core machine it leaves the server its core, which node:http's
 * client (tens of microseconds per request) and autocannon's `-R` (a per-second budget each connection spends in a
 * burst) do not. Request i is sent at begin + i / rate, on a free connection; latency runs from the write to the
 * last byte of the response. Sends that went out 5 ms or more late are
 * counted: a run where they are not near zero measured the generator, not the server.
 * Sends wait for their timer tick (about a millisecond), so they go out in small bursts.
 */
export interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  /** Sends that went out 5 ms or more after their scheduled time: the generator stalled. */
  late: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface Connection {
  socket: Socket;
  sentAt: number;
  pending: Buffer;
  busy: boolean;
}

export async function openLoop(
  url: string,
  requestBytes: (i: number) => Buffer,
  options: { rate: number; seconds: number; connections?: number },
): Promise<OpenLoopResult> {
  const target = new URL(url);
  const connectionCount = options.connections ?? 64;
  const latencies: number[] = [];
  let failed = 0;
  let late = 0;
  let sent = 0;
  const free: Connection[] = [];
  const backlog: number[] = [];

  const send = (connection: Connection, i: number) => {
    connection.busy = true;
    connection.sentAt = performance.now();
    connection.socket.write(requestBytes(i));
  };

  const onResponseEnd = (connection: Connection, status: number) => {
    if (status === 200) latencies.push(performance.now() - connection.sentAt);
    else failed++;
    connection.busy = false;
    const next = backlog.shift();
    if (next === undefined) free.push(connection);
    else send(connection, next);
  };

  const open = () =>
    new Promise<Connection>((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname, () => resolve(connection));
      socket.setNoDelay(true);
      const connection: Connection = { socket, sentAt: 0, pending: EMPTY, busy: false };
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        connection.pending =
          connection.pending.length === 0 ? chunk : Buffer.concat([connection.pending, chunk]);
        // One response at a time per connection (no pipelining): parse it once it is complete, reading the
        // status and Content-Length from the bytes (no strings, so the generator makes little garbage of its own).
        for (;;) {
          const buffer = connection.pending;
          const headerEnd = buffer.indexOf(HEADER_END);
          if (headerEnd < 0) return;
          const status =
            (buffer[9] as number) * 100 + (buffer[10] as number) * 10 + (buffer[11] as number) - 5328;
          const length = contentLength(buffer, headerEnd);
          let end: number;
          if (length >= 0) {
            end = headerEnd + 4 + length;
            if (buffer.length < end) return;
          } else {
            const last = buffer.indexOf(CHUNKED_END, headerEnd);
            if (last < 0) return;
            end = last + CHUNKED_END.length;
          }
          connection.pending = end === buffer.length ? EMPTY : buffer.subarray(end);
          onResponseEnd(connection, status);
        }
      });
    });

  for (let i = 0; i < connectionCount; i++) free.push(await open());
  const connections = [...free];
  const begin = performance.now();
  const durationMs = options.seconds * 1000;
  const total = Math.floor(options.seconds * options.rate);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const elapsed = now - begin;
      // Request i is due at i / rate: the first goes out at once.
      const due = Math.min(total, Math.floor(elapsed * (options.rate / 1000)) + 1);
      for (; sent < due; sent++) {
        if (now - (begin + sent * (1000 / options.rate)) >= 5) late++;
        const connection = free.pop();
        if (connection === undefined) backlog.push(sent);
        else send(connection, sent);
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  // Let what is in flight finish (bounded: 5 s).
  const deadline = performance.now() + 5000;
  while ((backlog.length > 0 || connections.some((c) => c.busy)) && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  failed += backlog.length + connections.filter((c) => c.busy).length;
  for (const connection of connections) connection.socket.destroy();
  const elapsedS = (performance.now() - begin) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    sent,
    ok: latencies.length,
    failed,
    late,
    rps: Math.round(latencies.length / elapsedS),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

const EMPTY = Buffer.alloc(0);
const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('\r\ncontent-length:');

/** The Content-Length header's value in a response head (any letter case), or -1 when there is none. */
function contentLength(buffer: Buffer, headerEnd: number): number {
  for (let at = buffer.indexOf(13); at >= 0 && at < headerEnd; at = buffer.indexOf(13, at + 1)) {
    let match = true;
    for (let k = 0; k < CONTENT_LENGTH.length && match; k++) {
      const byte = buffer[at + k] as number;
      // Letters compare without case (ASCII: set bit 0x20); the other bytes exactly.
      const lower = byte >= 65 && byte <= 90 ? byte | 0x20 : byte;
      match = lower === CONTENT_LENGTH[k];
    }
    if (!match) continue;
    let i = at + CONTENT_LENGTH.length;
    while (buffer[i] === 32) i++;
    let value = 0;
    for (let digit = buffer[i] as number; digit >= 48 && digit <= 57; digit = buffer[++i] as number)
      value = value * 10 + digit - 48;
    return value;
  }
  return -1;
}

/** The q-quantile (0 to 1) of sorted latencies, by nearest rank; NaN when there are none. */
export function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The bytes of one HTTP/1.1 keep-alive request. */
export function httpRequest(url: string, method: string, body?: string): Buffer {
  const target = new URL(url);
  const payload = body === undefined ? '' : body;
  const head =
    `${method} ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\nconnection: keep-alive\r\n` +
    (body === undefined
      ? '\r\n'
      : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n`);
  return Buffer.from(head + payload);
}
