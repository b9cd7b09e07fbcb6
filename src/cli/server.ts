import type { Command } from 'commander';
import { resolveServerConfig } from '../core/config.js';
import { createSlipway, type Slipway } from '../server.js';

/** `slipway server`: the control plane on embedded storage by default. */
export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the Slipway server (tracking, registry, APIs, docs at /docs)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '5000')
    .option('--data-dir <dir>', 'where the SQLite database and artifacts live (default ~/.slipway)')
    .option('--db <url>', "metadata database: 'postgres://user:pass@host:5432/db' or 'sqlite:PATH'")
    .option('--artifacts-dir <dir>', 'artifact root (default <data-dir>/artifacts)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .option('--online-store <url>', "online features: 'redis://host:6379' (default: SQLite in the data dir)")
    .option('--payload-retention <hours>', 'delete inference log files older than this many hours', '168')
    .action(async (options: Record<string, string | undefined>) => {
      const retention = Number(options.payloadRetention);
      if (!(retention > 0))
        throw new Error(`--payload-retention '${options.payloadRetention}': expected hours > 0`);
      const config = resolveServerConfig({
        host: options.host,
        port: options.port,
        logLevel: options.logLevel as 'info',
        ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
        ...(options.db !== undefined && { db: options.db }),
        ...(options.artifactsDir !== undefined && { artifactsDir: options.artifactsDir }),
        ...(options.onlineStore !== undefined && { onlineStore: options.onlineStore }),
      });
      const slipway = await createSlipway(config, { payloadRetentionHours: retention });
      await listenUntilSignalled(slipway, config.host, config.port, 'Slipway');
    });
}

/** Listens, then on SIGTERM/SIGINT stops accepting, drains in-flight work and exits 0. */
export async function listenUntilSignalled(
  slipway: Slipway,
  host: string,
  port: number,
  what: string,
): Promise<void> {
  closeOnSignals(slipway);
  const address = await slipway.app.listen({ host, port });
  slipway.app.log.info(
    { database: slipway.services.metadata.location },
    `${what} listening on ${address} (API docs at ${address}/docs)`,
  );
}

/** On SIGTERM/SIGINT: stop accepting, drain in-flight work, exit 0 (1 if the shutdown itself fails). */
export function closeOnSignals(slipway: Slipway): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    slipway.app.log.info({ signal }, 'shutting down: draining in-flight requests');
    slipway
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        slipway.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
