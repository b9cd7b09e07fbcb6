import { postgresAvailable, startPostgres } from '../support/postgres.js';
import { defineStorageSuite } from './storage-suite.js';

// Without the binaries locally the suite is skipped; under CI the support module throws instead.
if (postgresAvailable) defineStorageSuite('postgres', startPostgres);
