import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freeLoopbackPort, isCi, isExecutable, messageOf } from './server-binaries.js';

const run = promisify(execFile);

/** A throwaway PostgreSQL server on a loopback port, owned by the test that started it. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/slipway`, trust auth, an empty database. */
  url: string;
  /** Temp folder holding the data dir, socket dir and server log; removed by `stop()`. */
  dir: string;
  /** Fast shutdown, then removes `dir`. */
  stop(): Promise<void>;
}

const DATABASE = 'slipway';
const SUPERUSER = 'postgres';
const START_ATTEMPTS = 3;
/** pg_ctl's wait for start and stop, in seconds. */
const PG_CTL_TIMEOUT_S = '30';
const DEBIAN_VERSIONS_DIR = '/usr/lib/postgresql';

/** The folder holding `initdb` and `pg_ctl`: from PATH, else the newest `/usr/lib/postgresql/<version>/bin`. */
function findPostgresBinDir(): string | undefined {
  const hasTools = (dir: string) =>
    ['initdb', 'pg_ctl', 'postgres'].every((name) => isExecutable(join(dir, name)));
  const onPath = (process.env.PATH ?? '').split(delimiter).find((dir) => dir !== '' && hasTools(dir));
  if (onPath !== undefined) return onPath;
  let versions: string[];
  try {
    versions = readdirSync(DEBIAN_VERSIONS_DIR);
  } catch {
    return undefined;
  }
  return versions
    .filter((version) => /^\d+(\.\d+)?$/.test(version))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    .map((version) => join(DEBIAN_VERSIONS_DIR, version, 'bin'))
    .find(hasTools);
}

const binDir = findPostgresBinDir();

/** True when the PostgreSQL server binaries are installed; suites use `describe.skipIf(!postgresAvailable)`. */
export const postgresAvailable: boolean = binDir !== undefined;

// CI must run every suite: a missing binary there is a broken setup, not a reason to skip.
if (!postgresAvailable && isCi()) {
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under ${DEBIAN_VERSIONS_DIR}/<version>/bin, and CI is set; install the Debian package 'postgresql' (.ci/run does)`,
  );
}

/**
 * Starts a fresh PostgreSQL cluster in a temp folder, listening on 127.0.0.1 at a free port (and a socket in
 * that folder), with durability off for speed. Resolves once a client can connect and the database exists.
 * Throws with the server log when the server does not come up within 30 s.
 */
export async function startPostgres(): Promise<PostgresServer> {
  if (binDir === undefined) {
    throw new Error('PostgreSQL server binaries not found; check postgresAvailable before starting');
  }
  const owner = await serverOwner();
  const dir = await mkdtemp(join(tmpdir(), 'slipway-pg-'));
  try {
    const dataDir = join(dir, 'data');
    const socketDir = join(dir, 'socket');
    const logFile = join(dir, 'server.log');
    await mkdir(socketDir);
    if (owner !== undefined) {
      await chown(dir, owner.uid, owner.gid);
      await chown(socketDir, owner.uid, owner.gid);
    }
    const tool = (name: string, args: string[]) => runAsOwner(owner, dir, join(binDir, name), args);

    await tool('initdb', ['-D', dataDir, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '-N']);
    const stop = async () => {
      try {
        await tool('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', PG_CTL_TIMEOUT_S]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };

    // A free port can be taken by someone else before the server binds it, so a failed start retries on a new one.
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      // Later settings win, so each attempt's port overrides the previous attempt's.
      await appendFile(
        join(dataDir, 'postgresql.conf'),
        [
          `listen_addresses = '127.0.0.1'`,
          `port = ${port}`,
          `unix_socket_directories = '${socketDir}'`,
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          'shared_buffers = 16MB',
          '',
        ].join('\n'),
      );
      try {
        await tool('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', PG_CTL_TIMEOUT_S]);
        // pg_ctl has seen the server answer; the short deadline only covers a slow first TCP connection.
        await createDatabase(port, Date.now() + 5_000);
        return { url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${DATABASE}`, dir, stop };
      } catch (error) {
        const log = await readFile(logFile, 'utf8').catch(() => '(no server log)');
        // Usually nothing is running here; stop in case the server came up but the database was not created.
        await tool('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => undefined);
        if (attempt >= START_ATTEMPTS || !log.includes('could not bind')) {
          throw new Error(
            `PostgreSQL did not start on 127.0.0.1:${port}: ${messageOf(error)}\n--- server log ---\n${log}`,
          );
        }
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Connects (retrying until `deadlineMs`, epoch ms) and creates the test database. */
async function createDatabase(port: number, deadlineMs: number): Promise<void> {
  for (;;) {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: SUPERUSER,
      database: 'postgres',
      connectionTimeoutMillis: 2_000,
    });
    try {
      await client.connect();
      await client.query(`create database ${DATABASE}`);
      return;
    } catch (error) {
      if (Date.now() >= deadlineMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

interface Owner {
  name: string;
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root, so root runs it as the `postgres` user the Debian package creates. */
async function serverOwner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string) => Number((await run('id', [flag, SUPERUSER])).stdout.trim());
  try {
    return { name: SUPERUSER, uid: await id('-u'), gid: await id('-g') };
  } catch (error) {
    throw new Error(
      `running as root, PostgreSQL needs an unprivileged user '${SUPERUSER}': ${messageOf(error)}`,
    );
  }
}

async function runAsOwner(
  owner: Owner | undefined,
  cwd: string,
  file: string,
  args: string[],
): Promise<void> {
  // cwd is the temp folder, which the owner can enter (the caller's cwd may not be readable by it).
  const [command, commandArgs] =
    owner === undefined ? [file, args] : ['runuser', ['-u', owner.name, '--', file, ...args]];
  try {
    await run(command, commandArgs, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${file} ${args.join(' ')} failed: ${messageOf(error)}\n${stderr}`);
  }
}
