import type { Command } from 'commander';
import type { EndpointView } from '../deployments/index.js';
import { addClientOptions, clientFrom } from './client-options.js';
import { formatTime, printObject, printRows } from './output.js';

type Options = { trackingUri?: string; json?: boolean };

/** Parses durations such as `30s`, `5m`, `1500ms` or a plain number of milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) throw new Error(`invalid duration '${text}': expected e.g. 30s, 5m, 1500ms`);
  const value = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return Math.round(value * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms']);
}

const describePolicy = (endpoint: EndpointView): string => {
  const p = endpoint.policy;
  if (p.kind === 'direct') return `direct v${p.version}`;
  if (p.kind === 'shadow') return `v${p.champion} (shadow v${p.challenger})`;
  return p.variants.map((v) => `v${v.version} ${v.weight}%`).join(', ') + (p.sticky ? ' (sticky)' : '');
};

const printEndpoint = (endpoint: EndpointView, options: Options) => {
  if (options.json === true) return printObject(endpoint, options);
  process.stdout.write(
    `endpoint: ${endpoint.name} (model ${endpoint.model})\nstable: v${endpoint.stable_version}\ntraffic: ${describePolicy(endpoint)}\n`,
  );
  const r = endpoint.rollout;
  if (r !== undefined) {
    process.stdout.write(
      `rollout ${r.id}: ${r.awaiting_approval ? 'awaiting approval' : r.state}, v${r.baseline_version} -> v${r.candidate_version}, step ${r.current_step + 1}/${r.steps.length} (${r.current_weight}%)\n`,
    );
    for (const check of r.last_analysis?.results ?? [])
      process.stdout.write(`  ${check.metric}: ${check.verdict} (${check.reason})\n`);
  }
};

/** `slipway deploy`, `slipway rollout ...`, `slipway rollback`, `slipway endpoints ...`. */
export function registerEndpointCommands(program: Command): void {
  addClientOptions(
    program
      .command('deploy <endpoint> <model>')
      .description('deploy MODEL@ALIAS or MODEL/VERSION to an endpoint'),
  )
    .option('--policy <policy>', 'direct | canary | ab | shadow | blue-green', 'direct')
    .option('--steps <weights>', 'canary steps, e.g. 10,50,100')
    .option('--interval <duration>', 'canary step duration, e.g. 30s')
    .option('--weight <percent>', "A/B: the new version's share")
    .option('--approval', 'canary: wait for `slipway rollout resume` after each step passes analysis')
    .option('--reason <text>', 'why, for the history')
    .option('--webhook <url>', 'notified on promotion and rollback')
    .action(
      async (endpoint: string, model: string, options: Options & Record<string, string | undefined>) => {
        const result = await clientFrom(options).deploy(endpoint, {
          model,
          ...(options.policy !== undefined && { policy: options.policy }),
          ...(options.steps !== undefined && { steps: options.steps.split(',').map(Number) }),
          ...(options.interval !== undefined && { intervalMs: parseDurationMs(options.interval) }),
          ...(options.weight !== undefined && { weight: Number(options.weight) }),
          ...(options.approval !== undefined && { approval: true }),
          ...(options.reason !== undefined && { reason: options.reason }),
          ...(options.webhook !== undefined && { webhookUrl: options.webhook }),
        });
        printEndpoint(result, options);
      },
    );

  const rollout = program.command('rollout').description('watch and steer a rollout');
  addClientOptions(
    rollout.command('status <endpoint>').description('the rollout and its last analysis'),
  ).action(async (endpoint: string, options: Options) =>
    printEndpoint(await clientFrom(options).getEndpoint(endpoint), options),
  );
  for (const action of ['promote', 'pause', 'resume', 'abort'] as const) {
    addClientOptions(
      rollout.command(`${action} <endpoint>`).description(`${action} the rollout in progress`),
    ).action(async (endpoint: string, options: Options) =>
      printEndpoint(await clientFrom(options).rollout(endpoint, action), options),
    );
  }

  addClientOptions(
    program
      .command('rollback <endpoint>')
      .description('all traffic back to the previous stable version, now'),
  ).action(async (endpoint: string, options: Options) =>
    printEndpoint(await clientFrom(options).rollback(endpoint), options),
  );

  const endpoints = program.command('endpoints').description('deployed endpoints');
  addClientOptions(endpoints.command('list').description('list endpoints')).action(
    async (options: Options) => {
      const list = await clientFrom(options).listEndpoints();
      printRows(
        list.map((e) => ({
          name: e.name,
          model: e.model,
          stable: e.stable_version,
          traffic: describePolicy(e),
          updated: formatTime(e.updated_at),
        })),
        options,
        list,
      );
    },
  );
  addClientOptions(endpoints.command('get <endpoint>').description('one endpoint')).action(
    async (endpoint: string, options: Options) =>
      printEndpoint(await clientFrom(options).getEndpoint(endpoint), options),
  );
  addClientOptions(
    endpoints.command('history <endpoint>').description('every change: who, when, what, why'),
  ).action(async (endpoint: string, options: Options) => {
    const events = await clientFrom(options).endpointHistory(endpoint);
    printRows(
      events.map((e) => ({ at: formatTime(e.at), kind: e.kind, actor: e.actor, reason: e.reason })),
      options,
      events,
    );
  });
  addClientOptions(endpoints.command('shadow <endpoint>').description('shadow comparison report')).action(
    async (endpoint: string, options: Options) =>
      printObject(await clientFrom(options).shadowReport(endpoint), options),
  );
}
