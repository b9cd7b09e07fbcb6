import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { ExecutionResult, Executor, StepExecution } from './executor.js';

/**
 * Runs each step as a child process of the control plane, through the shell (so `python train.py --lr 0.1`
 * works as written), with stdout and stderr appended to the step's log file. The child leads its own process
 * group so a timeout kills the whole tree (the shell and what it started), not just the shell.
 */
export function createLocalExecutor(): Executor {
  return {
    kind: 'local',
    run: (execution: StepExecution) =>
      new Promise<ExecutionResult>((resolve) => {
        const log = openSync(execution.logPath, 'a');
        let settled = false;
        let timedOut = false;
        let aborted = false;
        const finish = (result: ExecutionResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          execution.signal.removeEventListener('abort', onAbort);
          resolve(result);
        };
        const child = spawn(execution.command, {
          shell: true,
          cwd: execution.workingDir,
          env: { ...process.env, ...execution.env },
          stdio: ['ignore', log, log],
          detached: process.platform !== 'win32',
        });
        closeSync(log);
        const kill = () => {
          if (child.pid === undefined || child.exitCode !== null) return;
          try {
            if (process.platform === 'win32') child.kill('SIGKILL');
            else process.kill(-child.pid, 'SIGKILL');
          } catch {
            // Already gone between the check and the kill.
          }
        };
        const onAbort = () => {
          aborted = true;
          kill();
        };
        const timer =
          execution.timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                timedOut = true;
                kill();
              }, execution.timeoutMs);
        execution.signal.addEventListener('abort', onAbort);
        if (execution.signal.aborted) onAbort();
        child.on('error', (error) => finish({ exitCode: null, timedOut: false, error: error.message }));
        child.on('exit', (code, signal) => {
          if (timedOut) {
            finish({ exitCode: null, timedOut, error: `timed out after ${execution.timeoutMs} ms` });
          } else if (aborted) {
            finish({ exitCode: null, timedOut, error: 'stopped: the control plane shut down' });
          } else if (code === null) {
            finish({ exitCode: null, timedOut, error: `killed by ${signal ?? 'a signal'}` });
          } else {
            finish({ exitCode: code, timedOut });
          }
        });
      }),
  };
}
