/** One attempt of one command step, as the runner hands it to an executor. */
export interface StepExecution {
  pipeline: string;
  pipelineRunId: string;
  step: string;
  attempt: number;
  /** A shell command line, parameters already substituted. */
  command: string;
  workingDir: string;
  /** Variables added to the executor's environment (tracking URI, run ids, inputs, outputs, params). */
  env: Record<string, string>;
  timeoutMs?: number;
  /** The executor appends the step's stdout and stderr here. */
  logPath: string;
  /** Kubernetes: the container image and resources. */
  image?: string;
  resources?: { cpu?: string | number; memory?: string };
  /** Aborted when the control plane stops: the executor ends the step. */
  signal: AbortSignal;
}

export interface ExecutionResult {
  /** The command's exit code; null when it was killed (timeout, abort) or never started. */
  exitCode: number | null;
  timedOut: boolean;
  /** Why the step could not run or was killed, for the step's error. */
  error?: string;
}

/**
 * Where command steps run: `local` (child processes of the control plane) or `kubernetes` (one Job per step).
 * Executors never retry: the runner does, with its own backoff.
 */
export interface Executor {
  readonly kind: 'local' | 'kubernetes';
  run(execution: StepExecution): Promise<ExecutionResult>;
}
