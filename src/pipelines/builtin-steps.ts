import { isAbsolute, resolve } from 'node:path';
import { isSlipwayError, SlipwayError } from '../core/errors.js';
import type { DeploymentService } from '../deployments/index.js';
import type { RegistryService } from '../registry/index.js';
import type { DeployOptions, GateStepOptions, RegisterOptions } from './spec.js';

/**
 * Runs the evaluation gate (`runGate` in `gate.ts`), injected so the runner does not depend on how the gate
 * evaluates. `trackingUri` is the server's URL; `data` is already an absolute path.
 */
export type GateRunner = (
  options: GateStepOptions & { trackingUri: string },
) => Promise<{ passed: boolean; report?: string }>;

/** An upstream output, as a registry source. */
export interface OutputLocation {
  runId: string;
  /** The artifact's path inside the run's artifact root. */
  path: string;
}

/** What a built-in step leaves behind: its values (for `${steps.<name>.<key>}`) and a line for the step log. */
export interface BuiltinResult {
  values: Record<string, string>;
  log: string;
  /** Extra text for the log (a gate report). */
  report?: string;
  /** When set, the step failed for this reason (the gate said no). */
  failure?: string;
}

/**
 * `register`: the output file becomes a new version of the named model, its lineage the run that produced the
 * file (that run's datasets, code version, params and metrics), tagged with the pipeline run.
 */
export async function runRegisterStep(
  registry: RegistryService,
  options: RegisterOptions,
  output: OutputLocation,
  context: { pipeline: string; pipelineRunId: string; stepRunId: string },
): Promise<BuiltinResult> {
  await registry.createRegisteredModel({ name: options.model }).catch((error: unknown) => {
    if (!(isSlipwayError(error) && error.code === 'RESOURCE_ALREADY_EXISTS')) throw error;
  });
  const source = `runs:/${output.runId}/${output.path}`;
  // A cached training step hands over the same file again: its existing version is reused, not duplicated.
  const existing = (
    await registry.searchModelVersions({ filter: `name = '${options.model}' and run_id = '${output.runId}'` })
  ).items.find((v) => v.source === source);
  if (existing !== undefined) {
    if (options.alias !== undefined) await registry.setAlias(options.model, options.alias, existing.version);
    return {
      values: {
        model: options.model,
        version: existing.version,
        ref: `${options.model}/${existing.version}`,
        source,
        reused: 'true',
        ...(options.alias !== undefined && { alias: options.alias }),
      },
      log: `${source} is already ${options.model} version ${existing.version}; reusing it`,
    };
  }
  const version = await registry.createModelVersion({
    name: options.model,
    source,
    runId: output.runId,
    ...(options.description !== undefined && { description: options.description }),
    tags: [
      { key: 'slipway.pipeline', value: context.pipeline },
      { key: 'slipway.pipeline_run_id', value: context.pipelineRunId },
      { key: 'slipway.pipeline_step_run_id', value: context.stepRunId },
    ],
  });
  if (options.alias !== undefined) await registry.setAlias(options.model, options.alias, version.version);
  return {
    values: {
      model: options.model,
      version: version.version,
      ref: `${options.model}/${version.version}`,
      source,
      ...(options.alias !== undefined && { alias: options.alias }),
    },
    log: `registered ${source} as ${options.model} version ${version.version}${options.alias === undefined ? '' : ` (alias ${options.alias})`}`,
  };
}

/** `deploy`: a direct switch or a canary rollout on an endpoint, through the deployment service. */
export async function runDeployStep(
  deployments: DeploymentService,
  options: DeployOptions,
  context: { pipeline: string; pipelineRunId: string },
): Promise<BuiltinResult> {
  const view = await deployments.deploy({
    endpoint: options.endpoint,
    model: options.model,
    policy: options.policy,
    actor: `pipeline:${context.pipeline}`,
    reason: `pipeline ${context.pipeline} run ${context.pipelineRunId}`,
    ...(options.steps !== undefined && { steps: options.steps }),
    ...(options.interval_ms !== undefined && { intervalMs: options.interval_ms }),
    ...(options.checks !== undefined && {
      checks: options.checks.map((c) => ({ metric: c.metric, max: c.max, minSamples: c.min_samples })),
    }),
  });
  const rollout = view.rollout;
  return {
    values: {
      endpoint: view.name,
      stable_version: view.stable_version,
      ...(rollout !== undefined && { rollout_id: rollout.id, candidate_version: rollout.candidate_version }),
    },
    log:
      rollout === undefined
        ? `deployed ${options.model} to endpoint ${view.name} (stable v${view.stable_version})`
        : `started canary rollout ${rollout.id} on ${view.name}: v${rollout.baseline_version} -> v${rollout.candidate_version}`,
  };
}

/** `gate`: the injected gate decides; a failed gate fails the step (and so blocks what depends on it). */
export async function runGateStep(
  gateRunner: GateRunner | undefined,
  options: GateStepOptions,
  context: { workingDir: string; trackingUri: string },
): Promise<BuiltinResult> {
  if (gateRunner === undefined) {
    throw new SlipwayError(
      'INVALID_STATE',
      'This server has no gate runner configured: the gate step cannot run',
    );
  }
  const data = isAbsolute(options.data) ? options.data : resolve(context.workingDir, options.data);
  const result = await gateRunner({ ...options, data, trackingUri: context.trackingUri });
  return {
    values: { passed: String(result.passed) },
    log: `gate ${result.passed ? 'passed' : 'failed'}: ${options.candidate} vs ${options.baseline ?? '(no baseline)'}`,
    ...(result.report !== undefined && { report: result.report }),
    ...(!result.passed && { failure: 'the gate failed: see the report in the step log' }),
  };
}
