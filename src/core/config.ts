import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Server configuration, validated once at the edge (CLI flags and environment). */
export const serverConfigSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(5000),
  dataDir: z.string().min(1).default(join(homedir(), '.slipway')),
  /** `postgres://...` or `sqlite:PATH`; default: SQLite in the data dir. */
  db: z.string().min(1).optional(),
  /** Where artifacts live; default: `artifacts/` in the data dir. */
  artifactsDir: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Online feature store: `redis://...`; default: an embedded SQLite file in the data dir. */
  onlineStore: z
    .string()
    .regex(/^(rediss?:\/\/|sqlite:)/, "expected 'redis://host:port' or 'sqlite:PATH'")
    .optional(),
});

export type ServerConfigInput = z.input<typeof serverConfigSchema>;

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  db: string;
  artifactsDir: string;
  logLevel: z.infer<typeof serverConfigSchema>['logLevel'];
  /** `redis://...` or `sqlite:PATH`. */
  onlineStore: string;
}

/** Fills defaults that depend on other fields (paths under the data dir). */
export function resolveServerConfig(input: ServerConfigInput): ServerConfig {
  const parsed = serverConfigSchema.parse(input);
  const dataDir = resolve(parsed.dataDir);
  return {
    host: parsed.host,
    port: parsed.port,
    dataDir,
    db: parsed.db ?? `sqlite:${join(dataDir, 'slipway.db')}`,
    artifactsDir: resolve(parsed.artifactsDir ?? join(dataDir, 'artifacts')),
    logLevel: parsed.logLevel,
    onlineStore: parsed.onlineStore ?? `sqlite:${join(dataDir, 'online-features.db')}`,
  };
}
