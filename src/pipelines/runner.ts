import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { pipeline as pipeStreams } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { DeploymentService } from '../deployments/index.js';
import type { RegistryService } from '../registry/index.js';
import type { BlobStore, PipelineStepTable } from '../storage/index.js';
import type { KeyValue, TrackingService } from '../tracking/index.js';
import {
  type BuiltinResult,
  type GateRunner,
  runDeployStep,
  runGateStep,
  runRegisterStep,
} from './builtin-steps.js';
import { cacheKey, combineDigests, digestFiles } from './cache-key.js';
import { planNext, type StepState } from './dag.js';
import type { Executor } from './executors/executor.js';
import { envName, type Reference, referencedParams, substitute } from './references.js';
import type { CommandStep, PipelineSpec, StepSpec } from './spec.js';
import type { PipelineStore } from './store.js';

/** A stored output: where its bytes are (an artifact of a step's tracking run) and their digest. */
export interface StoredOutput {
  run_id: string;
  /** Path inside the run's artifact root, e.g. `outputs/model.onnx`. */
  path: string;
  sha256: string;
  size_bytes: number;
}

export interface RunnerDeps {
  store: PipelineStore;
  tracking: TrackingService;
  registry: RegistryService;
  deployments: DeploymentService;
  blobs: BlobStore;
  clock: Clock;
  /** The executor for a pipeline (by its spec's `executor`). */
  executorFor: (spec: PipelineSpec) => Executor;
  gateRunner?: GateRunner;
  /** The server's own URL, given to steps as MLFLOW_TRACKING_URI. */
  trackingUri: () => string;
  /** Where step work dirs (outputs, materialized inputs, logs) live. */
  workRoot: string;
  /** This process, in run leases. */
  owner: string;
  /** How long a run's lease lasts; renewed at a third of it while the run executes. */
  leaseMs: number;
  log: (message: string, fields?: object) => void;
}

const PARENT_RUN_TAG = 'mlflow.parentRunId';
const execFileAsync = promisify(execFile);

/** Where a step's files live on the control plane's disk. */
export const stepDir = (workRoot: string, runId: string, step: string) => join(workRoot, 'runs', runId, step);
export const stepLogPath = (workRoot: string, runId: string, step: string) =>
  join(stepDir(workRoot, runId, step), 'step.log');

/**
 * Executes pipeline runs: the DAG in dependency order with up to `maxParallel` steps at once, retries with
 * exponential backoff, timeouts, cache hits that reuse stored outputs, and per-step logs. Every step is a
 * tracking run nested under the pipeline run's (MLflow's `mlflow.parentRunId`). State is written to the store as
 * it changes, so a failed run resumes from where it stopped.
 */
export function createPipelineRunner(deps: RunnerDeps) {
  const { store, tracking, blobs, clock } = deps;

  /** Runs (or continues) a pipeline run until every step is done or blocked; never throws. */
  async function execute(runId: string, signal: AbortSignal): Promise<void> {
    const run = await store.getRun(runId);
    if (run === undefined) return;
    const version = await store.getVersion(run.pipeline, run.version);
    if (version === undefined) return;
    const spec = JSON.parse(version.spec_json) as PipelineSpec;
    const params = JSON.parse(run.params_json) as Record<string, string>;
    const renew = setInterval(
      () => {
        const now = clock.nowMs();
        void store.leaseRun(runId, deps.owner, now, now + deps.leaseMs).catch(() => undefined);
      },
      Math.max(100, Math.floor(deps.leaseMs / 3)),
    );
    try {
      const context: RunContext = {
        runId,
        pipeline: run.pipeline,
        spec,
        params,
        workingDir: version.working_dir,
        parentRunId: run.tracking_run_id,
        experimentId: run.experiment_id,
        triggerInputPath: run.trigger_input_path,
        signal,
        executor: deps.executorFor(spec),
      };
      const states = new Map<string, StepState>(
        (await store.steps(runId)).map((s) => [s.step, s.status as StepState]),
      );
      const edges = new Map(spec.steps.map((s) => [s.name, s.dependsOn]));
      const byName = new Map(spec.steps.map((s) => [s.name, s]));
      const running = new Map<string, Promise<void>>();
      for (;;) {
        const { ready, blocked } = planNext(edges, states);
        for (const name of blocked) {
          const failedNeed = (edges.get(name) ?? []).find(
            (n) => states.get(n) !== 'succeeded' && states.get(n) !== 'cached',
          );
          states.set(name, 'skipped');
          await store.updateStep(runId, name, {
            status: 'skipped',
            error: `not run: step '${failedNeed}' did not succeed`,
            finished_at: clock.nowMs(),
          });
        }
        if (blocked.length > 0) continue;
        for (const name of ready) {
          if (running.size >= spec.maxParallel || signal.aborted) break;
          const step = byName.get(name);
          if (step === undefined) continue;
          states.set(name, 'running');
          running.set(
            name,
            runStep(context, step).then((state) => {
              states.set(name, state);
              running.delete(name);
            }),
          );
        }
        if (running.size === 0) break;
        await Promise.race(running.values());
      }
      if (signal.aborted) {
        for (const [name, state] of states) {
          if (state !== 'pending') continue;
          await store.updateStep(runId, name, {
            status: 'skipped',
            error: 'not run: the control plane stopped',
          });
          states.set(name, 'skipped');
        }
      }
      const ok = [...states.values()].every((s) => s === 'succeeded' || s === 'cached');
      const failed = [...states.entries()].filter(([, s]) => s === 'failed').map(([n]) => n);
      const now = clock.nowMs();
      await store.updateRun(runId, {
        status: ok ? 'succeeded' : 'failed',
        error: ok ? null : `failed step(s): ${failed.join(', ') || 'none (stopped)'}`,
        finished_at: now,
        lease_owner: null,
        lease_until: null,
      });
      await tracking
        .updateRun({ runId: run.tracking_run_id, status: ok ? 'FINISHED' : 'FAILED', endTime: now })
        .catch((error: unknown) => deps.log('pipeline: could not close the tracking run', { runId, error }));
    } catch (error) {
      deps.log('pipeline run failed unexpectedly', { runId, error: String(error) });
      await store
        .updateRun(runId, {
          status: 'failed',
          error: `internal error: ${(error as Error).message}`,
          finished_at: clock.nowMs(),
          lease_owner: null,
          lease_until: null,
        })
        .catch(() => undefined);
    } finally {
      clearInterval(renew);
    }
  }

  interface RunContext {
    runId: string;
    pipeline: string;
    spec: PipelineSpec;
    params: Record<string, string>;
    workingDir: string;
    parentRunId: string;
    experimentId: string;
    triggerInputPath: string | null;
    signal: AbortSignal;
    executor: Executor;
  }

  /** One step from start to a final state; failures become the step's error, never exceptions. */
  async function runStep(ctx: RunContext, step: StepSpec): Promise<StepState> {
    const dir = stepDir(deps.workRoot, ctx.runId, step.name);
    const logPath = stepLogPath(deps.workRoot, ctx.runId, step.name);
    await mkdir(dir, { recursive: true });
    const startedAt = clock.nowMs();
    await store.updateStep(ctx.runId, step.name, {
      status: 'running',
      started_at: startedAt,
      finished_at: null,
      error: null,
      exit_code: null,
      log_path: logPath,
    });
    let stepRunId: string | undefined;
    try {
      const upstream = new Map((await store.steps(ctx.runId)).map((s) => [s.step, s]));
      if (step.kind === 'command') {
        const outcome = await runCommandStep(ctx, step, dir, logPath, upstream, (id) => {
          stepRunId = id;
        });
        return outcome;
      }
      stepRunId = await createStepRun(ctx, step.name, []);
      const lookup = referenceLookup(ctx, upstream, join(dir, 'inputs'));
      const options = (await substituteDeep(step.options, lookup)) as typeof step.options;
      await tracking.logBatch({
        runId: stepRunId,
        params: flattenParams(options as Record<string, unknown>),
      });
      let result: BuiltinResult;
      if (step.kind === 'register') {
        const ref = /^steps\.([^.]+)\.outputs\.(.+)$/.exec(step.options.output);
        const output = outputsOf(upstream.get(ref?.[1] ?? ''))[ref?.[2] ?? ''];
        if (output === undefined) throw new Error(`output '${step.options.output}' was not produced`);
        result = await runRegisterStep(
          deps.registry,
          options as typeof step.options,
          { runId: output.run_id, path: output.path },
          { pipeline: ctx.pipeline, pipelineRunId: ctx.runId, stepRunId },
        );
      } else if (step.kind === 'deploy') {
        result = await runDeployStep(deps.deployments, options as typeof step.options, {
          pipeline: ctx.pipeline,
          pipelineRunId: ctx.runId,
        });
      } else {
        result = await runGateStep(deps.gateRunner, options as typeof step.options, {
          workingDir: ctx.workingDir,
          trackingUri: deps.trackingUri(),
        });
      }
      await appendFile(logPath, `${result.log}\n${result.report === undefined ? '' : `${result.report}\n`}`);
      if (result.report !== undefined)
        await blobs.put(`${await tracking.artifactRootOf(stepRunId)}/report.md`, Buffer.from(result.report));
      await finishStep(ctx, step.name, stepRunId, startedAt, logPath, {
        status: result.failure === undefined ? 'succeeded' : 'failed',
        attempts: 1,
        result_json: JSON.stringify(result.values),
        ...(result.failure !== undefined && { error: result.failure }),
      });
      return result.failure === undefined ? 'succeeded' : 'failed';
    } catch (error) {
      const message = (error as Error).message;
      await appendFile(logPath, `error: ${message}\n`).catch(() => undefined);
      await finishStep(ctx, step.name, stepRunId, startedAt, logPath, {
        status: 'failed',
        error: message,
      }).catch((e: unknown) => deps.log('pipeline: could not record a step failure', { error: String(e) }));
      return 'failed';
    }
  }

  async function runCommandStep(
    ctx: RunContext,
    step: CommandStep,
    dir: string,
    logPath: string,
    upstream: Map<string, PipelineStepTable>,
    onRun: (id: string) => void,
  ): Promise<StepState> {
    const startedAt = clock.nowMs();
    const env: Record<string, string> = {};
    const inputDigests: Record<string, string> = {};
    const datasets: { name: string; digest: string; source: string; sourceType: string }[] = [];
    const inputsDir = join(dir, 'inputs');
    await rm(inputsDir, { recursive: true, force: true });

    for (const [name, value] of Object.entries(step.inputs)) {
      const ref = /^steps\.([^.]+)\.outputs\.(.+)$/.exec(value);
      if (ref !== null) {
        const output = outputsOf(upstream.get(ref[1] ?? ''))[ref[2] ?? ''];
        if (output === undefined) throw new Error(`input '${name}': ${value} was not produced`);
        const local = await materialize(output, join(inputsDir, name));
        env[envName('SLIPWAY_INPUT_', name)] = local;
        inputDigests[name] = output.sha256;
        datasets.push({
          name,
          digest: output.sha256.slice(0, 36),
          source: `runs:/${output.run_id}/${output.path}`,
          sourceType: 'artifact',
        });
        continue;
      }
      const { files, unmatched } = await digestFiles(ctx.workingDir, [value]);
      if (unmatched.length > 0)
        throw new Error(`missing input '${name}': no file matches '${value}' in ${ctx.workingDir}`);
      env[envName('SLIPWAY_INPUT_', name)] = files
        .map((f) => resolve(ctx.workingDir, f.path))
        .join(delimiter);
      inputDigests[name] = files.length === 1 ? (files[0]?.sha256 ?? '') : combineDigests(files);
      datasets.push({
        name,
        digest: (inputDigests[name] ?? '').slice(0, 36),
        source: resolve(ctx.workingDir, value),
        sourceType: 'local',
      });
    }

    // A step sees its own params and the pipeline params it names, so changing an unrelated pipeline param
    // does not invalidate its cache.
    const lookup = referenceLookup(ctx, upstream, inputsDir);
    const stepParams: Record<string, string> = {};
    const named = [step.run, ...Object.values(step.env)].flatMap(referencedParams);
    for (const p of named) stepParams[p] = ctx.params[p] ?? '';
    for (const [key, value] of Object.entries(step.params))
      stepParams[key] = await substitute(String(value), lookup);
    const command = await substitute(step.run, lookup, { shellQuote: true });
    const stepEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(step.env)) stepEnv[key] = await substitute(value, lookup);

    const code = await digestFiles(ctx.workingDir, step.code);
    if (code.unmatched.length > 0)
      throw new Error(`code: no file matches '${code.unmatched.join("', '")}' in ${ctx.workingDir}`);
    const key = cacheKey({
      command,
      code: code.files,
      params: stepParams,
      inputs: inputDigests,
      env: stepEnv,
      outputs: step.outputs,
      ...(step.image !== undefined && { image: step.image }),
    });
    const codeDigest = combineDigests(code.files);
    const gitCommit = await gitCommitOf(ctx.workingDir);
    const tags: KeyValue[] = [
      { key: 'slipway.cache_key', value: key },
      { key: 'slipway.code_digest', value: codeDigest },
      { key: 'mlflow.source.name', value: step.run.slice(0, 500) },
      ...(gitCommit === undefined ? [] : [{ key: 'mlflow.source.git.commit', value: gitCommit }]),
    ];
    const paramList = Object.entries(stepParams).map(([k, v]) => ({ key: k, value: v.slice(0, 6000) }));
    await store.updateStep(ctx.runId, step.name, { cache_key: key });

    if (step.cache) {
      const hit = await store.findCached(ctx.pipeline, step.name, key);
      const outputs = outputsOf(hit);
      if (hit !== undefined && (await outputsPresent(outputs))) {
        const origin = hit.cached_from ?? hit.tracking_run_id ?? '';
        const runId = await createStepRun(ctx, step.name, [
          ...tags,
          { key: 'slipway.cached_from', value: origin },
        ]);
        onRun(runId);
        await logStepInputs(runId, paramList, datasets);
        await appendFile(
          logPath,
          `cached: key ${key.slice(0, 12)} matches step run ${origin}; reusing its outputs\n`,
        );
        await finishStep(ctx, step.name, runId, startedAt, logPath, {
          status: 'cached',
          attempts: 0,
          cached_from: origin,
          outputs_json: JSON.stringify(outputs),
          exit_code: null,
        });
        return 'cached';
      }
    }

    const runId = await createStepRun(ctx, step.name, tags);
    onRun(runId);
    await logStepInputs(runId, paramList, datasets);
    const outputDir = join(dir, 'outputs');
    const baseEnv: Record<string, string> = {
      ...stepEnv,
      ...env,
      ...Object.fromEntries(Object.entries(stepParams).map(([k, v]) => [envName('SLIPWAY_PARAM_', k), v])),
      MLFLOW_TRACKING_URI: deps.trackingUri(),
      MLFLOW_RUN_ID: runId,
      MLFLOW_EXPERIMENT_ID: ctx.experimentId,
      SLIPWAY_TRACKING_URI: deps.trackingUri(),
      SLIPWAY_PIPELINE: ctx.pipeline,
      SLIPWAY_PIPELINE_RUN_ID: ctx.runId,
      SLIPWAY_STEP: step.name,
      SLIPWAY_OUTPUT_DIR: outputDir,
      ...(ctx.triggerInputPath !== null && { SLIPWAY_TRIGGER_INPUT: ctx.triggerInputPath }),
    };

    let lastError = '';
    let lastExit: number | null = null;
    const maxAttempts = step.retries + 1;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (ctx.signal.aborted) {
        lastError = 'stopped: the control plane shut down';
        break;
      }
      await rm(outputDir, { recursive: true, force: true });
      await mkdir(outputDir, { recursive: true });
      await appendFile(logPath, `--- attempt ${attempt}/${maxAttempts}: ${command}\n`);
      await store.updateStep(ctx.runId, step.name, { attempts: attempt });
      const result = await ctx.executor.run({
        pipeline: ctx.pipeline,
        pipelineRunId: ctx.runId,
        step: step.name,
        attempt,
        command,
        workingDir: ctx.workingDir,
        env: { ...baseEnv, SLIPWAY_ATTEMPT: String(attempt) },
        logPath,
        signal: ctx.signal,
        ...(step.timeoutMs !== undefined && { timeoutMs: step.timeoutMs }),
        ...(step.image !== undefined && { image: step.image }),
        ...(step.resources !== undefined && { resources: step.resources }),
      });
      lastExit = result.exitCode;
      if (result.exitCode === 0) {
        const missing = await missingOutputs(outputDir, step.outputs);
        if (missing.length === 0) {
          const outputs = await storeOutputs(runId, outputDir, step.outputs);
          await appendFile(logPath, `--- succeeded on attempt ${attempt}\n`);
          await finishStep(ctx, step.name, runId, startedAt, logPath, {
            status: 'succeeded',
            attempts: attempt,
            exit_code: 0,
            outputs_json: JSON.stringify(outputs),
          });
          return 'succeeded';
        }
        lastError = `declared output(s) not written to SLIPWAY_OUTPUT_DIR: ${missing.join(', ')}`;
      } else {
        lastError = result.error ?? `exited with code ${result.exitCode}`;
      }
      await appendFile(logPath, `--- attempt ${attempt} failed: ${lastError}\n`);
      if (attempt < maxAttempts && !ctx.signal.aborted) {
        await sleep(step.backoffMs * 2 ** (attempt - 1), ctx.signal);
      }
    }
    await finishStep(ctx, step.name, runId, startedAt, logPath, {
      status: 'failed',
      error: lastError,
      exit_code: lastExit,
    });
    return 'failed';
  }

  async function createStepRun(ctx: RunContext, step: string, tags: KeyValue[]): Promise<string> {
    const run = await tracking.createRun({
      experimentId: ctx.experimentId,
      runName: `${ctx.pipeline}.${step}`,
      tags: [
        { key: PARENT_RUN_TAG, value: ctx.parentRunId },
        { key: 'slipway.pipeline', value: ctx.pipeline },
        { key: 'slipway.pipeline_run_id', value: ctx.runId },
        { key: 'slipway.step', value: step },
        ...tags,
      ],
    });
    await store.updateStep(ctx.runId, step, { tracking_run_id: run.info.run_id });
    return run.info.run_id;
  }

  async function logStepInputs(
    runId: string,
    params: KeyValue[],
    datasets: { name: string; digest: string; source: string; sourceType: string }[],
  ): Promise<void> {
    for (let i = 0; i < params.length; i += 100)
      await tracking.logBatch({ runId, params: params.slice(i, i + 100) });
    if (datasets.length > 0) {
      await tracking.logInputs(
        runId,
        datasets.map((d) => ({
          dataset: { name: d.name, digest: d.digest, source: d.source, source_type: d.sourceType },
          tags: [{ key: 'mlflow.data.context', value: 'pipeline-input' }],
        })),
      );
    }
  }

  /** Final state of a step: the row, its tracking run (status, end time, duration), the log as an artifact. */
  async function finishStep(
    ctx: RunContext,
    step: string,
    runId: string | undefined,
    startedAt: number,
    logPath: string,
    changes: Partial<PipelineStepTable>,
  ): Promise<void> {
    const now = clock.nowMs();
    if (runId !== undefined) {
      await tracking.logBatch({
        runId,
        metrics: [{ key: 'duration_seconds', value: (now - startedAt) / 1000, timestamp: now, step: 0 }],
      });
      const root = await tracking.artifactRootOf(runId);
      const log = await readFile(logPath).catch(() => Buffer.alloc(0));
      await blobs.put(`${root}/logs/step.log`, log);
      await tracking.updateRun({
        runId,
        status: changes.status === 'failed' ? 'FAILED' : 'FINISHED',
        endTime: now,
      });
    }
    await store.updateStep(ctx.runId, step, { ...changes, finished_at: now });
  }

  /** Copies declared outputs into the run's artifacts (content addressed digests come back from the store). */
  async function storeOutputs(
    runId: string,
    outputDir: string,
    outputs: Record<string, string>,
  ): Promise<Record<string, StoredOutput>> {
    const root = await tracking.artifactRootOf(runId);
    const stored: Record<string, StoredOutput> = {};
    for (const [name, file] of Object.entries(outputs)) {
      const path = `outputs/${file.split(sep).join('/')}`;
      const put = await blobs.put(`${root}/${path}`, createReadStream(join(outputDir, file)));
      stored[name] = { run_id: runId, path, sha256: put.sha256, size_bytes: put.sizeBytes };
    }
    return stored;
  }

  async function outputsPresent(outputs: Record<string, StoredOutput>): Promise<boolean> {
    for (const output of Object.values(outputs)) {
      const root = await tracking.artifactRootOf(output.run_id).catch(() => undefined);
      if (root === undefined || (await blobs.stat(`${root}/${output.path}`)) === undefined) return false;
    }
    return true;
  }

  /** Downloads an upstream output into `dir` (keeping its file name); answers the local path. */
  async function materialize(output: StoredOutput, dir: string): Promise<string> {
    const root = await tracking.artifactRootOf(output.run_id);
    const target = join(dir, output.path.replace(/^outputs\//, ''));
    await mkdir(dirname(target), { recursive: true });
    await pipeStreams(await blobs.get(`${root}/${output.path}`), createWriteStream(target));
    return target;
  }

  /**
   * Resolves `${params.x}`, `${steps.s.outputs.o}` (a local copy of the output, downloaded into
   * `materializeInto`), `${steps.s.run_id}` and a built-in step's values such as `${steps.register.version}`.
   */
  function referenceLookup(
    ctx: RunContext,
    upstream: Map<string, PipelineStepTable>,
    materializeInto: string,
  ) {
    return async (reference: Reference): Promise<string> => {
      if (reference.scope === 'params') {
        const value = ctx.params[reference.key];
        if (value === undefined) throw new Error(`unknown parameter '${reference.key}'`);
        return value;
      }
      const [name = '', field = '', ...rest] = reference.key.split('.');
      const row = upstream.get(name);
      if (row === undefined) throw new Error(`unknown step '${name}' in \${steps.${reference.key}}`);
      if (field === 'run_id' && row.tracking_run_id !== null) return row.tracking_run_id;
      if (field === 'outputs') {
        const output = outputsOf(row)[rest.join('.')];
        if (output === undefined) throw new Error(`step '${name}' produced no output '${rest.join('.')}'`);
        return materialize(output, join(materializeInto, `${name}-${rest.join('.')}`));
      }
      const values = row.result_json === null ? {} : (JSON.parse(row.result_json) as Record<string, string>);
      const value = values[field];
      if (value === undefined) {
        throw new Error(
          `step '${name}' has no value '${field}' (it has: ${Object.keys(values).join(', ') || 'none'})`,
        );
      }
      return value;
    };
  }

  return { execute };
}

function outputsOf(row: PipelineStepTable | undefined): Record<string, StoredOutput> {
  if (row?.outputs_json == null) return {};
  return JSON.parse(row.outputs_json) as Record<string, StoredOutput>;
}

async function missingOutputs(outputDir: string, outputs: Record<string, string>): Promise<string[]> {
  const missing: string[] = [];
  for (const [name, file] of Object.entries(outputs)) {
    const info = await stat(join(outputDir, file)).catch(() => undefined);
    if (info === undefined || !info.isFile()) missing.push(`${name} (${file})`);
  }
  return missing;
}

async function substituteDeep(value: unknown, lookup: (r: Reference) => Promise<string>): Promise<unknown> {
  if (typeof value === 'string') return substitute(value, lookup);
  if (Array.isArray(value)) return Promise.all(value.map((v) => substituteDeep(v, lookup)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await substituteDeep(v, lookup);
    return out;
  }
  return value;
}

function flattenParams(options: Record<string, unknown>): KeyValue[] {
  return Object.entries(options).map(([key, value]) => ({
    key,
    value: (typeof value === 'string' ? value : JSON.stringify(value)).slice(0, 6000),
  }));
}

/** The working dir's git commit, when it is in a git repository (lineage: the code version). */
async function gitCommitOf(workingDir: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('git', ['rev-parse', 'HEAD'], { cwd: workingDir, timeout: 5000 });
    const commit = stdout.trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolvePromise();
    }
    signal.addEventListener('abort', done);
  });
}

export type PipelineRunner = ReturnType<typeof createPipelineRunner>;
