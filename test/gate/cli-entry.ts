/**
 * The `slipway` CLI from the TypeScript sources (bin/slipway.js runs dist/, which a test cannot assume is fresh):
 * `node --import tsx test/gate/cli-entry.ts <args>`.
 */
import { run } from '../../src/cli/main.js';

await run(process.argv);
