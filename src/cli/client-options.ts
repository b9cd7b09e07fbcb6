import type { Command } from 'commander';
import { createClient, type SlipwayClient } from '../sdk/index.js';

/** `--tracking-uri`, then SLIPWAY_TRACKING_URI, then MLFLOW_TRACKING_URI, then the local default server. */
export function addClientOptions(command: Command): Command {
  return command
    .option('--tracking-uri <url>', 'Slipway server URL (env SLIPWAY_TRACKING_URI or MLFLOW_TRACKING_URI)')
    .option('--json', 'print JSON');
}

export function clientFrom(options: { trackingUri?: string }): SlipwayClient {
  const baseUrl =
    options.trackingUri ??
    process.env.SLIPWAY_TRACKING_URI ??
    process.env.MLFLOW_TRACKING_URI ??
    'http://127.0.0.1:5000';
  const token = process.env.SLIPWAY_TOKEN;
  return createClient({ baseUrl, ...(token !== undefined && { token }) });
}
