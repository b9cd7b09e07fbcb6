import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { runQuickstart } from '../quickstart/index.js';
import { closeOnSignals } from './server.js';

/** `slipway quickstart`: the whole loop on the flights data, then the server stays up to explore. */
export function registerQuickstartCommand(program: Command): void {
  program
    .command('quickstart')
    .description('train, deploy, monitor, retrain, gate and canary a model on 3M real flights, end to end')
    .option('--fast', 'small samples: the same loop in under a minute')
    .option(
      '--data-dir <dir>',
      'a folder for this run (wiped first)',
      join(homedir(), '.slipway', 'quickstart'),
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (if taken, any free one)', '5000')
    .option('--exit', 'stop the server when the loop is done')
    .option('--json', 'print the summary as JSON')
    .action(
      async (options: {
        fast?: boolean;
        dataDir: string;
        host: string;
        port: string;
        exit?: boolean;
        json?: boolean;
      }) => {
        let bar: SingleBar | undefined;
        let barPhase = '';
        const { summary, slipway } = await runQuickstart({
          dataDir: resolve(options.dataDir),
          fast: options.fast === true,
          host: options.host,
          port: Number(options.port),
          print: (line) => {
            bar?.stop();
            bar = undefined;
            process.stderr.write(`${line}\n`);
          },
          ...(process.stderr.isTTY && {
            progress: (phase: string, done: number, total: number) => {
              if (bar === undefined || phase !== barPhase) {
                bar?.stop();
                barPhase = phase;
                bar = new SingleBar({
                  format: `${phase} [{bar}] {value}/{total} flights`,
                  stream: process.stderr,
                  hideCursor: true,
                });
                bar.start(total, 0);
              }
              bar.update(Math.min(done, total));
            },
          }),
        });
        bar?.stop();
        if (options.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else {
          const lines = [
            '',
            `What happened (${summary.seconds} s):`,
            `  champion ${summary.endpoint} v${summary.champion_version} (holdout AUC ${summary.champion_auc?.toFixed(3) ?? 'n/a'}) served from March`,
            ...summary.months.map(
              (m) =>
                `  ${m.month}: AUC ${m.auc?.toFixed(3) ?? 'n/a'}, drift share ${m.drift_share.toFixed(2)} [${m.drifted.join(', ')}], served by v${m.versions.join(', v')}`,
            ),
            summary.alert_months.length === 0
              ? `  the alert '${summary.alert_rule}' never fired`
              : `  alert '${summary.alert_rule}' fired in ${summary.alert_months.join(', ')} and started retraining`,
            ...summary.retrains.map(
              (r) =>
                `  ${r.month} retraining ${r.status}: candidate v${r.candidate_version ?? '?'}, gate ${r.gate_passed === true ? 'passed' : 'failed'}, canary ${r.rollout_state ?? 'not started'}`,
            ),
            `  ${summary.endpoint} now serves v${summary.final_stable_version}`,
            '',
            `Report:  ${summary.report_url}`,
            `         (also written to ${summary.report_file})`,
            `API:     ${summary.url}/docs`,
            `Metrics: ${summary.url}/metrics`,
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        if (options.exit === true) {
          await slipway.close();
          return;
        }
        process.stderr.write('The server keeps running for you to explore; Ctrl-C stops it.\n');
        closeOnSignals(slipway);
      },
    );
}
