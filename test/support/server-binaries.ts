import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';

/** Helpers shared by the suites' real servers (PostgreSQL, Redis) started from their installed binaries. */

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether CI is set: there every suite must run, so a missing server binary is an error, not a skip. */
export function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/** A loopback port free at the time of asking (a server may still take it first: callers retry). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port assigned')),
      );
    });
  });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
