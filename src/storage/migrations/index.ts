import type { Migration, MigrationProvider } from 'kysely';
import { foundationMigration } from './001-foundation.js';
import { deploymentsMigration } from './002-deployments.js';
import { monitoringMigration } from './003-monitoring.js';
import { featuresMigration } from './004-features.js';
import { pipelinesMigration } from './005-pipelines.js';

export type DialectName = 'sqlite' | 'postgres';

/**
 * Migrations are listed in code (not discovered on disk) so the compiled package needs no file layout at run
 * time. Names sort in application order.
 */
export function migrationProvider(dialect: DialectName): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '001-foundation': foundationMigration(dialect),
    '002-deployments': deploymentsMigration(dialect),
    '003-monitoring': monitoringMigration(dialect),
    '004-features': featuresMigration(dialect),
    '005-pipelines': pipelinesMigration(dialect),
  };
  return { getMigrations: async () => migrations };
}
