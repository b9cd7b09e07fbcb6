// The `slipway` CLI from source (through tsx), so CLI tests need no build.
import { run } from '../../src/cli/main.js';

await run(process.argv);
