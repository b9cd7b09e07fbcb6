import { Command, CommanderError } from 'commander';
import { SlipwayApiError } from '../sdk/index.js';
import { VERSION } from '../version.js';
import { registerEndpointCommands } from './endpoints.js';
import { registerExperimentsCommands } from './experiments.js';
import { registerFeaturesCommands } from './features.js';
import { registerGateCommand } from './gate.js';
import { registerModelsCommands } from './models.js';
import { registerMonitorCommands } from './monitor.js';
import { registerPipelineCommands } from './pipelines.js';
import { registerQuickstartCommand } from './quickstart.js';
import { registerRunsCommands } from './runs.js';
import { registerServeCommands } from './serve.js';
import { registerServerCommand } from './server.js';
import { registerTrainCommand } from './train.js';

export function buildProgram(): Command {
  const program = new Command('slipway')
    .description('Slipway: from a training run to production, and healthy there')
    .version(VERSION)
    .showHelpAfterError();
  registerServerCommand(program);
  registerQuickstartCommand(program);
  registerExperimentsCommands(program);
  registerRunsCommands(program);
  registerModelsCommands(program);
  registerServeCommands(program);
  registerEndpointCommands(program);
  registerMonitorCommands(program);
  registerPipelineCommands(program);
  registerFeaturesCommands(program);
  registerTrainCommand(program);
  registerGateCommand(program);
  return program;
}

/** Entry point of the `slipway` binary: errors become one clear line and a non-zero exit code. */
export async function run(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof SlipwayApiError) {
      process.stderr.write(`error: ${error.errorCode} (${error.status}): ${error.message}\n`);
    } else if (error instanceof TypeError && isConnectionError(error.cause)) {
      process.stderr.write(
        'error: cannot reach the Slipway server; start it with `slipway server` or set --tracking-uri\n',
      );
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    process.exit(1);
  }
}

function isConnectionError(cause: unknown): boolean {
  const code = (cause as { code?: string } | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET';
}
