import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { invalidParameter, invalidState, isSlipwayError, notFound } from '../core/errors.js';
import { newHexId } from '../core/ids.js';
import type { DeploymentService } from '../deployments/index.js';
import type { RegistryService } from '../registry/index.js';
import type {
  BlobStore,
  MetadataDb,
  PipelineRunTable,
  PipelineStepTable,
  PipelineTable,
} from '../storage/index.js';
import type { TrackingService } from '../tracking/index.js';
import type { GateRunner } from './builtin-steps.js';
import type { Executor } from './executors/executor.js';
import { createKubernetesExecutor, type KubernetesExecutorOptions } from './executors/kubernetes-executor.js';
import { createLocalExecutor } from './executors/local-executor.js';
import { runGate } from './gate.js';
import { createPipelineRunner, type StoredOutput, stepLogPath } from './runner.js';
import { type ParamValue, type PipelineSpec, parsePipelineSpec, TRIGGER_PARAMS } from './spec.js';
import { createPipelineStore } from './store.js';
import { createPipelineScheduler, dataFingerprint, type TriggerReason } from './triggers.js';

export interface PipelineDeps {
  metadata: MetadataDb;
  tracking: TrackingService;
  registry: RegistryService;
  deployments: DeploymentService;
  blobs: BlobStore;
  clock: Clock;
  /** Step work dirs, logs and trigger inputs go under `<dataDir>/pipelines`. */
  dataDir: string;
  /** The evaluation gate for `uses: gate` steps; default: `runGate` from gate.ts. */
  gateRunner?: GateRunner;
  /** The local executor by default; tests and deployments may swap it. */
  localExecutor?: Executor;
  /** Cluster-wide settings of the kubernetes executor (the spec adds namespace, image, service account). */
  kubernetes?: Pick<KubernetesExecutorOptions, 'dataVolume' | 'pollMs' | 'connection' | 'trackingUri'>;
  /** The URL steps use to reach this server; set later with `setTrackingUri` when the port is known. */
  trackingUri?: string;
  /** How often schedules and data triggers are checked (default 1 s). */
  schedulerTickMs?: number;
  owner?: string;
  log?: (message: string, fields?: object) => void;
}

export interface PipelineView {
  name: string;
  version: number;
  description?: string;
  working_dir: string;
  experiment: string;
  executor: PipelineSpec['executor'];
  schedule?: string;
  on_data?: { path: string; poll_seconds: number };
  params: Record<string, ParamValue>;
  steps: { name: string; kind: string; needs: string[] }[];
  created_at: number;
  updated_at: number;
}

export interface PipelineStepView {
  name: string;
  kind: PipelineStepTable['kind'];
  status: PipelineStepTable['status'];
  attempts: number;
  cached: boolean;
  cached_from?: string;
  cache_key?: string;
  run_id?: string;
  outputs?: Record<string, StoredOutput>;
  result?: Record<string, string>;
  exit_code?: number;
  error?: string;
  started_at?: number;
  finished_at?: number;
  duration_ms?: number;
}

export interface PipelineRunView {
  id: string;
  pipeline: string;
  version: number;
  status: PipelineRunTable['status'];
  reason: string;
  params: Record<string, string>;
  experiment_id: string;
  /** The pipeline run's tracking run; each step's run has it as `mlflow.parentRunId`. */
  run_id: string;
  error?: string;
  created_at: number;
  finished_at?: number;
  steps: PipelineStepView[];
}

export interface StartRunInput {
  params?: Record<string, ParamValue>;
  reason?: TriggerReason;
  /** The trigger's input (an alert, the changed files): written to a file whose path steps get. */
  input?: unknown;
}

/**
 * Pipelines: versioned specs applied to the server, runs started by hand, by cron, by alerts or by new data, and
 * executed by this process (the control plane) with the configured executors.
 */
export function createPipelineService(deps: PipelineDeps) {
  const store = createPipelineStore(deps.metadata);
  const owner = deps.owner ?? `slipway-${newHexId().slice(0, 12)}`;
  const log = deps.log ?? (() => undefined);
  const workRoot = join(deps.dataDir, 'pipelines');
  const localExecutor = deps.localExecutor ?? createLocalExecutor();
  const leaseMs = 30_000;
  let trackingUri = deps.trackingUri ?? 'http://127.0.0.1:5000';
  const executing = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let stopping = false;

  const runner = createPipelineRunner({
    store,
    tracking: deps.tracking,
    registry: deps.registry,
    deployments: deps.deployments,
    blobs: deps.blobs,
    clock: deps.clock,
    executorFor: (spec) =>
      spec.executor === 'kubernetes'
        ? createKubernetesExecutor({
            namespace: spec.kubernetes?.namespace ?? 'default',
            ...(spec.kubernetes?.image !== undefined && { image: spec.kubernetes.image }),
            ...(spec.kubernetes?.service_account !== undefined && {
              serviceAccount: spec.kubernetes.service_account,
            }),
            ...(spec.kubernetes?.image_pull_policy !== undefined && {
              imagePullPolicy: spec.kubernetes.image_pull_policy,
            }),
            ...deps.kubernetes,
          })
        : localExecutor,
    gateRunner: deps.gateRunner ?? ((options) => runGate(options)),
    trackingUri: () => trackingUri,
    workRoot,
    owner,
    leaseMs,
    log,
  });

  const launch = (runId: string) => {
    const controller = new AbortController();
    const done = runner.execute(runId, controller.signal).finally(() => executing.delete(runId));
    executing.set(runId, { controller, done });
  };

  const requirePipeline = async (name: string): Promise<PipelineTable> => {
    const row = await store.getPipeline(name);
    if (row === undefined) throw notFound(`Pipeline '${name}' does not exist; apply its spec first`);
    return row;
  };

  const specOf = async (name: string, version: number): Promise<PipelineSpec> => {
    const row = await store.getVersion(name, version);
    if (row === undefined) throw notFound(`Pipeline '${name}' has no version ${version}`);
    return JSON.parse(row.spec_json) as PipelineSpec;
  };

  const pipelineView = (row: PipelineTable, spec: PipelineSpec): PipelineView => ({
    name: row.name,
    version: row.version,
    ...(spec.description !== undefined && { description: spec.description }),
    working_dir: row.working_dir,
    experiment: spec.experiment,
    executor: spec.executor,
    ...(spec.schedule !== undefined && { schedule: spec.schedule }),
    ...(spec.on?.data !== undefined && { on_data: spec.on.data }),
    params: spec.params,
    steps: spec.steps.map((s) => ({ name: s.name, kind: s.kind, needs: s.dependsOn })),
    created_at: row.created_at,
    updated_at: row.updated_at,
  });

  const stepView = (s: PipelineStepTable): PipelineStepView => ({
    name: s.step,
    kind: s.kind,
    status: s.status,
    attempts: s.attempts,
    cached: s.status === 'cached',
    ...(s.cached_from !== null && { cached_from: s.cached_from }),
    ...(s.cache_key !== null && { cache_key: s.cache_key }),
    ...(s.tracking_run_id !== null && { run_id: s.tracking_run_id }),
    ...(s.outputs_json !== null && { outputs: JSON.parse(s.outputs_json) }),
    ...(s.result_json !== null && { result: JSON.parse(s.result_json) }),
    ...(s.exit_code !== null && { exit_code: s.exit_code }),
    ...(s.error !== null && { error: s.error }),
    ...(s.started_at !== null && { started_at: s.started_at }),
    ...(s.finished_at !== null && { finished_at: s.finished_at }),
    ...(s.started_at !== null && s.finished_at !== null && { duration_ms: s.finished_at - s.started_at }),
  });

  const runView = async (row: PipelineRunTable): Promise<PipelineRunView> => ({
    id: row.id,
    pipeline: row.pipeline,
    version: row.version,
    status: row.status,
    reason: row.reason,
    params: JSON.parse(row.params_json),
    experiment_id: row.experiment_id,
    run_id: row.tracking_run_id,
    ...(row.error !== null && { error: row.error }),
    created_at: row.created_at,
    ...(row.finished_at !== null && { finished_at: row.finished_at }),
    steps: (await store.steps(row.id)).map(stepView),
  });

  const requireRun = async (id: string): Promise<PipelineRunTable> => {
    const row = await store.getRun(id);
    if (row === undefined) throw notFound(`Pipeline run '${id}' does not exist`);
    return row;
  };

  const experimentIdFor = async (name: string): Promise<string> => {
    const existing = await deps.tracking.getExperimentByName(name).catch(() => undefined);
    if (existing !== undefined) return existing.experiment_id;
    return deps.tracking.createExperiment({ name }).catch(async (error: unknown) => {
      if (isSlipwayError(error) && error.code === 'RESOURCE_ALREADY_EXISTS')
        return (await deps.tracking.getExperimentByName(name)).experiment_id;
      throw error;
    });
  };

  /** Runs whose process died (lease expired) are marked failed, so `resume` can continue them. */
  const failOrphans = async () => {
    const now = deps.clock.nowMs();
    for (const run of await store.orphanedRuns(now)) {
      if (executing.has(run.id)) continue;
      await store.updateRun(run.id, {
        status: 'failed',
        error: 'interrupted: the process running it stopped; resume it to continue',
        finished_at: now,
        lease_owner: null,
        lease_until: null,
      });
      for (const step of await store.steps(run.id)) {
        if (step.status === 'running')
          await store.updateStep(run.id, step.step, {
            status: 'failed',
            error: 'interrupted',
            finished_at: now,
          });
      }
      await deps.tracking
        .updateRun({ runId: run.tracking_run_id, status: 'FAILED', endTime: now })
        .catch(() => undefined);
    }
  };

  const scheduler = createPipelineScheduler({
    store,
    clock: deps.clock,
    owner,
    ...(deps.schedulerTickMs !== undefined && { tickMs: deps.schedulerTickMs }),
    trigger: (name, reason, input) => self.triggerPipeline(name, { reason, input }),
    onTick: failOrphans,
    log,
  });

  const self = {
    /**
     * Stores a spec as the pipeline's next version (unchanged specs keep their version). `workingDir` is where
     * command steps run and relative paths resolve: the spec file's folder.
     *
     * @throws INVALID_PARAMETER_VALUE naming the line of each problem in the spec.
     */
    async apply(input: {
      spec: string;
      workingDir: string;
      source?: string;
    }): Promise<{ pipeline: PipelineView; changed: boolean }> {
      if (
        !isAbsolute(input.workingDir) ||
        !existsSync(input.workingDir) ||
        !statSync(input.workingDir).isDirectory()
      ) {
        throw invalidParameter(
          `Invalid value '${input.workingDir}' for parameter 'working_dir': expected an absolute path to an existing folder on the server`,
        );
      }
      const source = input.source ?? 'pipeline.yaml';
      const spec = parsePipelineSpec(input.spec, { source, workingDir: input.workingDir });
      const now = deps.clock.nowMs();
      const fingerprint =
        spec.on?.data === undefined
          ? null
          : (await dataFingerprint(input.workingDir, spec.on.data.path)).fingerprint;
      const result = await store.transaction(async (trx) => {
        const current = await store.getPipeline(spec.name, trx);
        if (current !== undefined) {
          const latest = await store.getVersion(spec.name, current.version, trx);
          if (latest?.spec_yaml === input.spec && latest.working_dir === input.workingDir) {
            return { row: current, changed: false };
          }
        }
        const version = (current?.version ?? 0) + 1;
        await store.insertVersion(trx, {
          name: spec.name,
          version,
          spec_yaml: input.spec,
          spec_json: JSON.stringify(spec),
          working_dir: input.workingDir,
          source: basename(source),
          created_at: now,
        });
        const row: PipelineTable = {
          name: spec.name,
          version,
          working_dir: input.workingDir,
          schedule: spec.schedule ?? null,
          data_path: spec.on?.data?.path ?? null,
          data_poll_ms: spec.on?.data === undefined ? null : Math.round(spec.on.data.poll_seconds * 1000),
          // A new schedule counts from now; an unchanged one keeps its place.
          last_fire_at: current?.schedule === (spec.schedule ?? null) ? current.last_fire_at : null,
          data_fingerprint: fingerprint,
          created_at: current?.created_at ?? now,
          updated_at: now,
        };
        if (current === undefined) await store.insertPipeline(trx, row);
        else await store.updatePipeline(trx, spec.name, row);
        return { row, changed: true };
      });
      return { pipeline: pipelineView(result.row, spec), changed: result.changed };
    },

    async list(): Promise<PipelineView[]> {
      const rows = await store.listPipelines();
      return Promise.all(rows.map(async (r) => pipelineView(r, await specOf(r.name, r.version))));
    },

    async get(name: string): Promise<PipelineView & { spec: string }> {
      const row = await requirePipeline(name);
      const version = await store.getVersion(name, row.version);
      return { ...pipelineView(row, await specOf(name, row.version)), spec: version?.spec_yaml ?? '' };
    },

    /**
     * Starts a run of the pipeline's current version and returns at once; the control plane executes it.
     * `params` override the spec's defaults and must be declared in it.
     */
    async startRun(name: string, input: StartRunInput = {}): Promise<PipelineRunView> {
      if (stopping) throw invalidState('The server is shutting down; no new pipeline runs');
      const pipeline = await requirePipeline(name);
      const spec = await specOf(name, pipeline.version);
      for (const key of Object.keys(input.params ?? {})) {
        if (!(key in spec.params)) {
          throw invalidParameter(
            `Invalid parameter '${key}' for pipeline '${name}': expected one of ${Object.keys(spec.params).join(', ') || '(none declared)'}`,
          );
        }
      }
      const id = newHexId();
      const reason = input.reason ?? 'manual';
      let triggerInputPath: string | null = null;
      if (input.input !== undefined) {
        triggerInputPath = join(workRoot, 'runs', id, 'trigger-input.json');
        await mkdir(join(workRoot, 'runs', id), { recursive: true });
        await writeFile(triggerInputPath, `${JSON.stringify(input.input, null, 2)}\n`);
      }
      const params: Record<string, string> = Object.fromEntries(
        Object.entries({ ...TRIGGER_PARAMS, ...spec.params, ...input.params }).map(([k, v]) => [
          k,
          String(v),
        ]),
      );
      params.trigger_reason = reason;
      params.trigger_input = triggerInputPath ?? '';
      const experimentId = await experimentIdFor(spec.experiment);
      const now = deps.clock.nowMs();
      const trackingRun = await deps.tracking.createRun({
        experimentId,
        runName: `${name}-${id.slice(0, 8)}`,
        tags: [
          { key: 'slipway.pipeline', value: name },
          { key: 'slipway.pipeline_version', value: String(pipeline.version) },
          { key: 'slipway.pipeline_run_id', value: id },
          { key: 'slipway.trigger', value: reason },
        ],
      });
      const paramList = Object.entries(params)
        .filter(([, v]) => v !== '')
        .map(([key, value]) => ({ key, value: value.slice(0, 6000) }));
      for (let i = 0; i < paramList.length; i += 100)
        await deps.tracking.logBatch({ runId: trackingRun.info.run_id, params: paramList.slice(i, i + 100) });
      await store.transaction(async (trx) => {
        await store.insertRun(trx, {
          id,
          pipeline: name,
          version: pipeline.version,
          status: 'running',
          reason,
          params_json: JSON.stringify(params),
          trigger_input_path: triggerInputPath,
          experiment_id: experimentId,
          tracking_run_id: trackingRun.info.run_id,
          error: null,
          lease_owner: owner,
          lease_until: now + leaseMs,
          created_at: now,
          finished_at: null,
        });
        await store.insertSteps(
          trx,
          spec.steps.map((s, position) => ({
            run_id: id,
            step: s.name,
            pipeline: name,
            position,
            kind: s.kind,
            status: 'pending',
            attempts: 0,
            cache_key: null,
            cached_from: null,
            tracking_run_id: null,
            outputs_json: null,
            result_json: null,
            log_path: null,
            exit_code: null,
            error: null,
            started_at: null,
            finished_at: null,
          })),
        );
      });
      launch(id);
      return runView(await requireRun(id));
    },

    /**
     * Starts a run for a trigger: the monitoring module calls this when an alert rule's action names a pipeline
     * (`reason: 'alert'`, the alert as `input`); the scheduler does for cron times and new data.
     */
    triggerPipeline(
      name: string,
      trigger: { reason: TriggerReason; input?: unknown; params?: Record<string, ParamValue> },
    ): Promise<PipelineRunView> {
      return self.startRun(name, {
        reason: trigger.reason,
        ...(trigger.input !== undefined && { input: trigger.input }),
        ...(trigger.params !== undefined && { params: trigger.params }),
      });
    },

    async listRuns(name: string, limit = 50): Promise<PipelineRunView[]> {
      await requirePipeline(name);
      return Promise.all((await store.listRuns(name, limit)).map(runView));
    },

    async getRun(id: string): Promise<PipelineRunView> {
      return runView(await requireRun(id));
    },

    /** The step's captured stdout and stderr (every attempt), as text. */
    async logs(runId: string, step: string): Promise<string> {
      await requireRun(runId);
      const row = await store.getStep(runId, step);
      if (row === undefined) throw notFound(`Pipeline run '${runId}' has no step '${step}'`);
      if (row.log_path === null) return '';
      const local = await readFile(row.log_path, 'utf8').catch(() => undefined);
      if (local !== undefined) return local;
      // The work dir may have been cleaned: the log is also an artifact of the step's tracking run.
      if (row.tracking_run_id === null) return '';
      const root = await deps.tracking.artifactRootOf(row.tracking_run_id);
      return (await deps.blobs.read(`${root}/logs/step.log`).catch(() => Buffer.alloc(0))).toString('utf8');
    },

    /**
     * Continues a failed run from its failed steps: succeeded and cached steps keep their outputs; failed and
     * skipped steps run again (as new step runs under the same pipeline run).
     */
    async resume(runId: string): Promise<PipelineRunView> {
      if (stopping) throw invalidState('The server is shutting down; no resumes');
      const run = await requireRun(runId);
      if (run.status !== 'failed' || executing.has(runId)) {
        throw invalidState(`Pipeline run '${runId}' is ${run.status}: only a failed run can be resumed`);
      }
      const now = deps.clock.nowMs();
      await store.transaction(async (trx) => {
        for (const step of await store.steps(runId, trx)) {
          if (step.status === 'succeeded' || step.status === 'cached') continue;
          await store.updateStep(
            runId,
            step.step,
            { status: 'pending', error: null, exit_code: null, started_at: null, finished_at: null },
            trx,
          );
        }
        await store.updateRun(
          runId,
          {
            status: 'running',
            error: null,
            finished_at: null,
            lease_owner: owner,
            lease_until: now + leaseMs,
          },
          trx,
        );
      });
      await deps.tracking.updateRun({ runId: run.tracking_run_id, status: 'RUNNING' });
      launch(runId);
      return runView(await requireRun(runId));
    },

    /** The URL steps get as MLFLOW_TRACKING_URI (known once the server listens). */
    setTrackingUri(url: string): void {
      trackingUri = url;
    },

    /** Fails runs left by dead processes and starts the schedule and data-trigger loop. */
    async start(): Promise<void> {
      await mkdir(workRoot, { recursive: true });
      scheduler.start();
    },

    /** Stops the scheduler and every running step (their runs end failed, resumable), and waits for them. */
    async stop(): Promise<void> {
      stopping = true;
      await scheduler.stop();
      for (const { controller } of executing.values()) controller.abort();
      await Promise.all([...executing.values()].map((e) => e.done));
    },

    /** The log file of a step on this server's disk (for tests and `logs --follow`). */
    logPath: (runId: string, step: string) => stepLogPath(workRoot, runId, step),
  };
  return self;
}

export type PipelineService = ReturnType<typeof createPipelineService>;
