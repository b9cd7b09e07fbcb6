import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freeLoopbackPort, isCi, isExecutable, messageOf } from './server-binaries.js';

/** A throwaway Redis server on a loopback port, owned by the test that started it. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, no password, empty, nothing persisted. */
  url: string;
  /** Temp folder holding the server's working dir and log; removed by `stop()`. */
  dir: string;
  /** Stops the server (SIGTERM, SIGKILL after 10 s), then removes `dir`. */
  stop(): Promise<void>;
}

/** A decoded RESP reply: simple and bulk strings, integers, and null for a missing value. */
export type RedisReply = string | number | null;

const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 2_000;

const redisServerPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir !== '')
  .map((dir) => join(dir, 'redis-server'))
  .find(isExecutable);

/** True when `redis-server` is on PATH; suites use `describe.skipIf(!redisAvailable)`. */
export const redisAvailable: boolean = redisServerPath !== undefined;

// CI must run every suite: a missing binary there is a broken setup, not a reason to skip.
if (!redisAvailable && isCi()) {
  throw new Error(
    "redis-server not found on PATH and CI is set; install the Debian package 'redis-server' (.ci/run does)",
  );
}

/**
 * Starts `redis-server` on 127.0.0.1 at a free port with persistence off, working in a temp folder.
 * Resolves once it answers PING; throws with the server log when it exits or stays silent for 10 s.
 */
export async function startRedis(): Promise<RedisServer> {
  if (redisServerPath === undefined) {
    throw new Error('redis-server not found; check redisAvailable before starting');
  }
  const dir = await mkdtemp(join(tmpdir(), 'slipway-redis-'));
  const logFile = join(dir, 'server.log');
  try {
    // A free port can be taken by someone else before the server binds it, so a failed start retries on a new one.
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      const url = `redis://127.0.0.1:${port}`;
      const child = spawn(
        redisServerPath,
        // biome-ignore format: flag/value pairs read better one pair per line
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--save', '',
          '--appendonly', 'no',
          '--dir', dir,
          '--logfile', logFile,
          '--daemonize', 'no',
        ],
        { stdio: 'ignore' },
      );
      const exited = exitOf(child);
      try {
        await waitForPong(url, exited, Date.now() + START_TIMEOUT_MS);
        return { url, dir, stop: () => stopServer(child, exited, dir) };
      } catch (error) {
        await stopServer(child, exited);
        const log = await readFile(logFile, 'utf8').catch(() => '(no server log)');
        if (attempt >= START_ATTEMPTS || !log.includes('Address already in use')) {
          throw new Error(
            `Redis did not start on 127.0.0.1:${port}: ${messageOf(error)}\n--- server log ---\n${log}`,
          );
        }
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Sends one command over a fresh connection and decodes the reply; a Redis error reply rejects. */
export function redisCommand(url: string, args: string[]): Promise<RedisReply> {
  const { hostname, port } = new URL(url);
  const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(request));
    socket.setTimeout(COMMAND_TIMEOUT_MS, () =>
      socket.destroy(new Error(`no reply within ${COMMAND_TIMEOUT_MS} ms`)),
    );
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed before a full reply')));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      try {
        const reply = decodeReply(received);
        if (reply === undefined) return;
        resolve(reply.value);
      } catch (error) {
        reject(error);
      }
      socket.end();
    });
  });
}

/** Decodes one RESP reply, or returns undefined while it is incomplete. Arrays are not needed by tests. */
function decodeReply(buffer: Buffer): { value: RedisReply } | undefined {
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd === -1) return undefined;
  const kind = String.fromCharCode(buffer[0] ?? 0);
  const line = buffer.toString('utf8', 1, lineEnd);
  switch (kind) {
    case '+':
      return { value: line };
    case '-':
      throw new Error(`Redis replied with an error: ${line}`);
    case ':':
      return { value: Number(line) };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null };
      const start = lineEnd + 2;
      if (buffer.length < start + length + 2) return undefined;
      return { value: buffer.toString('utf8', start, start + length) };
    }
    default:
      throw new Error(`unsupported RESP reply type '${kind}'`);
  }
}

async function waitForPong(url: string, exited: Promise<string>, deadlineMs: number): Promise<void> {
  let stillRunning = true;
  const exit = exited.then((how) => {
    stillRunning = false;
    throw new Error(`redis-server exited (${how})`);
  });
  exit.catch(() => undefined);
  for (;;) {
    try {
      if ((await Promise.race([redisCommand(url, ['PING']), exit])) === 'PONG') return;
    } catch (error) {
      if (!stillRunning || Date.now() >= deadlineMs) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exitOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve(`failed to run: ${error.message}`));
    child.once('exit', (code, signal) => resolve(signal === null ? `code ${code}` : `signal ${signal}`));
  });
}

async function stopServer(child: ChildProcess, exited: Promise<string>, dir?: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}
