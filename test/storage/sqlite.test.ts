import { defineStorageSuite } from './storage-suite.js';

defineStorageSuite('sqlite', async () => ({ stop: async () => undefined }));
