import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.js';
import { invalidParameter, invalidState, notFound } from '../core/errors.js';
import { newHexId } from '../core/ids.js';
import type { ModelSignature, RegistryService } from '../registry/index.js';
import type { EndpointRouter, ServedModel, ServingService } from '../serving/index.js';
import type { EndpointTable, MetadataDb, RolloutTable } from '../storage/index.js';
import {
  analyseStep,
  type CheckResult,
  type CheckSpec,
  defaultChecks,
  type VersionWindow,
} from './analysis.js';
import { createDeploymentStore } from './store.js';
import {
  type Route,
  routeRequest,
  type TrafficPolicy,
  validateVariants,
  versionsOf,
} from './traffic-policy.js';

export type DeployPolicy = 'direct' | 'canary' | 'ab' | 'shadow' | 'blue-green';

export interface DeployInput {
  endpoint: string;
  /** NAME@ALIAS, NAME/VERSION or NAME (latest). */
  model: string;
  policy?: DeployPolicy;
  /** Canary: candidate weights per step, e.g. [10, 50, 100]. */
  steps?: number[];
  /** Canary: time each step runs before its analysis decides. */
  intervalMs?: number;
  checks?: CheckSpec[];
  /** Canary: wait for a person's approval after each step passes analysis. */
  approval?: boolean;
  /** A/B: the candidate's share (the stable version gets the rest). */
  weight?: number;
  webhookUrl?: string;
  actor?: string;
  reason?: string;
}

export interface EndpointView {
  name: string;
  model: string;
  stable_version: string;
  previous_stable_version?: string;
  policy: TrafficPolicy;
  revision: number;
  updated_at: number;
  rollout?: RolloutView;
}

export interface RolloutView {
  id: string;
  state: RolloutTable['state'];
  baseline_version: string;
  candidate_version: string;
  steps: number[];
  current_step: number;
  current_weight: number;
  interval_ms: number;
  step_started_at: number;
  approval: boolean;
  awaiting_approval: boolean;
  last_analysis?: { verdict: string; results: CheckResult[]; at: number };
}

type RoutedRequest = NonNullable<ReturnType<EndpointRouter['route']>>;

interface Sample {
  atMs: number;
  ok: boolean;
  latencyMs: number;
  prediction?: number;
}

interface LiveEndpoint {
  revision: number;
  model: string;
  policy: TrafficPolicy;
  served: Map<string, ServedModel>;
  /** The previous stable version stays loaded and warm, so a rollback switches at once. */
  standby?: string;
}

interface ShadowStats {
  /** Copies in flight; a copy is skipped (and counted) rather than queued when the challenger is busy. */
  inFlight: number;
  /** When the next copy may start: the challenger's work is kept to a duty cycle of the CPU. */
  nextAllowedAtMs: number;
  skipped: number;
  requests: number;
  errors: number;
  agreements: number;
  absDiffSum: number;
  latenciesMs: number[];
  championLatenciesMs: number[];
}

const MAX_SAMPLES = 100_000;
const MAX_SHADOW_IN_FLIGHT = 1;
const RELEASE_GRACE_MS = 5000;
const SHADOW_DUTY = 0.1;

export interface DeploymentDeps {
  metadata: MetadataDb;
  registry: RegistryService;
  serving: ServingService;
  clock: Clock;
  /** Identifies this process in rollout leases. */
  owner?: string;
  /** How often the controller loop looks at rollouts and endpoint changes. */
  tickMs?: number;
  /** Serve (and drive rollouts of) only these endpoints; all when absent. A serving replica names its own. */
  endpoints?: readonly string[];
  log?: (message: string, fields?: object) => void;
}

/**
 * Endpoints and rollouts. All state lives in the database; each process keeps only a routing cache keyed by the
 * endpoint's revision and its own traffic samples. A controller loop advances canary steps from what the table
 * says (so a restart resumes the same step), under a lease so two processes never drive one rollout.
 */
export function createDeploymentService(deps: DeploymentDeps) {
  const store = createDeploymentStore(deps.metadata);
  const owner = deps.owner ?? `slipway-${newHexId().slice(0, 12)}`;
  const live = new Map<string, LiveEndpoint>();
  const samples = new Map<string, Sample[]>();
  const shadows = new Map<string, ShadowStats>();
  const loadedForEndpoints = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;

  const sampleKey = (endpoint: string, version: string) => `${endpoint}\u0000${version}`;
  const pushSample = (endpoint: string, version: string, sample: Sample) => {
    const key = sampleKey(endpoint, version);
    const list = samples.get(key) ?? [];
    keepRecent(list, sample, MAX_SAMPLES);
    samples.set(key, list);
  };

  const windowOf = (endpoint: string, version: string, sinceMs: number): VersionWindow => {
    const list = (samples.get(sampleKey(endpoint, version)) ?? []).filter((s) => s.atMs >= sinceMs);
    const answered = list.filter((s) => s.ok);
    return {
      requests: list.length,
      errors: list.length - answered.length,
      latenciesMs: answered.map((s) => s.latencyMs),
      predictions: answered.flatMap((s) => (s.prediction === undefined ? [] : [s.prediction])),
    };
  };

  const parsePolicy = (row: EndpointTable): TrafficPolicy => JSON.parse(row.policy_json) as TrafficPolicy;

  const view = (row: EndpointTable, rollout: RolloutTable | undefined): EndpointView => ({
    name: row.name,
    model: row.model,
    stable_version: row.stable_version,
    ...(row.previous_stable_version !== null && { previous_stable_version: row.previous_stable_version }),
    policy: parsePolicy(row),
    revision: row.revision,
    updated_at: row.updated_at,
    ...(rollout !== undefined && { rollout: rolloutView(rollout) }),
  });

  const rolloutView = (r: RolloutTable): RolloutView => {
    const steps = JSON.parse(r.steps_json) as number[];
    return {
      id: r.id,
      state: r.state,
      baseline_version: r.baseline_version,
      candidate_version: r.candidate_version,
      steps,
      current_step: r.current_step,
      current_weight: steps[r.current_step] ?? 100,
      interval_ms: r.interval_ms,
      step_started_at: r.step_started_at,
      approval: r.approval === 1,
      awaiting_approval: r.awaiting_approval === 1,
      ...(r.last_analysis_json !== null && { last_analysis: JSON.parse(r.last_analysis_json) }),
    };
  };

  const requireEndpoint = async (name: string) => {
    const row = await store.getEndpoint(name);
    if (row === undefined) throw notFound(`Endpoint '${name}' does not exist`);
    return row;
  };

  const sameSignature = (a: ModelSignature | undefined, b: ModelSignature | undefined): boolean =>
    JSON.stringify(a?.inputs ?? null) === JSON.stringify(b?.inputs ?? null);

  /** Loads (warms) every version a policy routes to, then makes the policy the process's live routing. */
  const applyPolicy = async (row: EndpointTable) => {
    const policy = parsePolicy(row);
    const served = new Map<string, ServedModel>();
    for (const version of versionsOf(policy)) served.set(version, await loadForEndpoint(row.model, version));
    const standby = row.previous_stable_version ?? undefined;
    if (standby !== undefined) await loadForEndpoint(row.model, standby);
    const current = live.get(row.name);
    if (current === undefined || current.revision < row.revision) {
      live.set(row.name, {
        revision: row.revision,
        model: row.model,
        policy,
        served,
        ...(standby !== undefined && { standby }),
      });
      scheduleRelease();
    }
  };

  /** Loads (warms) a version for an endpoint; only what endpoints loaded is theirs to unload later. */
  const loadForEndpoint = async (model: string, version: string): Promise<ServedModel> => {
    const loadedBefore = deps.serving.list().some((m) => m.name === model && m.version === version);
    const served = await deps.serving.ensureLoaded(model, version);
    if (!loadedBefore) loadedForEndpoints.add(`${model}/${version}`);
    return served;
  };

  /**
   * Versions this service loaded that no endpoint routes to any more are unloaded after a grace period (requests
   * routed just before the switch finish on them first), so deploy after deploy does not fill memory.
   */
  const scheduleRelease = () => {
    const timer = setTimeout(() => {
      const inUse = new Set<string>();
      for (const endpoint of live.values()) {
        for (const version of endpoint.served.keys()) inUse.add(`${endpoint.model}/${version}`);
        if (endpoint.standby !== undefined) inUse.add(`${endpoint.model}/${endpoint.standby}`);
      }
      for (const key of [...loadedForEndpoints]) {
        if (inUse.has(key)) continue;
        loadedForEndpoints.delete(key);
        const slash = key.lastIndexOf('/');
        void deps.serving.unload(key.slice(0, slash), key.slice(slash + 1)).catch(() => undefined);
      }
    }, RELEASE_GRACE_MS);
    timer.unref();
  };

  const notify = (row: EndpointTable, event: object) => {
    if (row.webhook_url === null) return;
    // Off the caller's path; a failing webhook is logged, never retried forever.
    void fetch(row.webhook_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: row.name, ...event }),
      signal: AbortSignal.timeout(5000),
    }).catch((error: unknown) => deps.log?.('webhook failed', { endpoint: row.name, error: String(error) }));
  };

  /** Moves an endpoint to a new policy in one transaction with its history event. */
  const changePolicy = async (
    row: EndpointTable,
    change: { policy: TrafficPolicy; stable?: string; kind: string; actor: string; reason: string },
  ) => {
    const now = deps.clock.nowMs();
    await store.transaction(async (trx) => {
      await store.updateEndpoint(trx, row.name, {
        policy_json: JSON.stringify(change.policy),
        updated_at: now,
        ...(change.stable !== undefined &&
          change.stable !== row.stable_version && {
            stable_version: change.stable,
            previous_stable_version: row.stable_version,
          }),
      });
      await store.addEvent(trx, {
        endpoint: row.name,
        at: now,
        actor: change.actor,
        kind: change.kind,
        from: { policy: parsePolicy(row), stable_version: row.stable_version },
        to: { policy: change.policy, stable_version: change.stable ?? row.stable_version },
        reason: change.reason,
      });
    });
    const updated = await requireEndpoint(row.name);
    await applyPolicy(updated);
    return updated;
  };

  const finishRollout = async (
    rollout: RolloutTable,
    outcome: 'promoted' | 'rolled_back' | 'aborted',
    actor: string,
    reason: string,
    analysis?: object,
  ) => {
    const row = await requireEndpoint(rollout.endpoint);
    const now = deps.clock.nowMs();
    await store.updateRollout(store.db, rollout.id, {
      state: outcome,
      updated_at: now,
      lease_owner: null,
      lease_until: null,
      ...(analysis !== undefined && { last_analysis_json: JSON.stringify({ ...analysis, at: now }) }),
    });
    const target = outcome === 'promoted' ? rollout.candidate_version : rollout.baseline_version;
    const updated = await changePolicy(row, {
      policy: { kind: 'direct', version: target },
      stable: target,
      kind: outcome === 'promoted' ? 'promote' : outcome === 'rolled_back' ? 'rollback' : 'abort',
      actor,
      reason,
    });
    if (outcome === 'rolled_back') {
      await deps.registry
        .setModelVersionTag(row.model, rollout.candidate_version, { key: 'slipway.rollout', value: 'failed' })
        .catch(() => undefined);
    }
    notify(updated, {
      event: outcome,
      rollout: rollout.id,
      candidate: rollout.candidate_version,
      baseline: rollout.baseline_version,
      reason,
    });
  };

  /** One controller pass over a running rollout: analyse its current step and move it on, back, or hold. */
  const driveRollout = async (rollout: RolloutTable) => {
    const now = deps.clock.nowMs();
    if (!(await store.acquireLease(rollout.id, owner, now, now + Math.max(5000, (deps.tickMs ?? 1000) * 5))))
      return;
    const steps = JSON.parse(rollout.steps_json) as number[];
    const checks = JSON.parse(rollout.checks_json) as CheckSpec[];
    const baseline = windowOf(rollout.endpoint, rollout.baseline_version, rollout.step_started_at);
    const canary = windowOf(rollout.endpoint, rollout.candidate_version, rollout.step_started_at);
    const analysis = analyseStep(baseline, canary, checks);
    const elapsed = now - rollout.step_started_at;
    // Errors are harm already done, so they roll back at the first look. Latency and prediction shift are
    // estimates: looked at on every tick, a test at p < 0.001 would raise a false alarm once in a few hundred
    // steps and a p99 of a few dozen samples is their maximum, so they are judged once, on the step's full window.
    const stepOver = elapsed >= rollout.interval_ms;
    const judged = stepOver ? analysis.results : analysis.results.filter((r) => r.metric === 'error_rate');
    if (judged.some((r) => r.verdict === 'fail')) {
      const failed = judged.filter((r) => r.verdict === 'fail').map((r) => `${r.metric} ${r.reason}`);
      await finishRollout(
        rollout,
        'rolled_back',
        'controller',
        `analysis failed at ${steps[rollout.current_step]}%: ${failed.join('; ')}`,
        analysis,
      );
      return;
    }
    if (!stepOver) return;
    if (analysis.verdict === 'inconclusive') {
      // Never promote on missing data: hold the step and say why.
      await store.updateRollout(store.db, rollout.id, {
        last_analysis_json: JSON.stringify({ ...analysis, at: now }),
        updated_at: now,
      });
      return;
    }
    if (rollout.approval === 1) {
      // A person decides: the step passed, the rollout waits for `rollout resume` (or promote / abort).
      await store.updateRollout(store.db, rollout.id, {
        state: 'paused',
        awaiting_approval: 1,
        updated_at: now,
        last_analysis_json: JSON.stringify({ ...analysis, at: now }),
      });
      await store.addEvent(store.db, {
        endpoint: rollout.endpoint,
        at: now,
        actor: 'controller',
        kind: 'awaiting-approval',
        reason: `step ${rollout.current_step + 1}/${steps.length} passed analysis; waiting for approval`,
      });
      return;
    }
    await advance(rollout, 'controller', analysis);
  };

  /** Moves a rollout to its next step, or promotes it when the next step would be 100 %. */
  const advance = async (rollout: RolloutTable, actor: string, analysis?: object) => {
    const steps = JSON.parse(rollout.steps_json) as number[];
    const now = deps.clock.nowMs();
    const next = rollout.current_step + 1;
    // At 100 % the baseline takes no traffic left to compare with: passing the last partial step promotes.
    if (next >= steps.length || (steps[next] as number) >= 100) {
      await finishRollout(rollout, 'promoted', actor, `all ${steps.length} steps passed analysis`, analysis);
      return;
    }
    const weight = steps[next] as number;
    await store.updateRollout(store.db, rollout.id, {
      state: 'running',
      awaiting_approval: 0,
      current_step: next,
      step_started_at: now,
      updated_at: now,
      ...(analysis !== undefined && { last_analysis_json: JSON.stringify({ ...analysis, at: now }) }),
    });
    const row = await requireEndpoint(rollout.endpoint);
    await changePolicy(row, {
      policy: canaryPolicy(rollout.baseline_version, rollout.candidate_version, weight),
      kind: 'step',
      actor,
      reason: `step ${next + 1}/${steps.length}: ${weight}% to version ${rollout.candidate_version}`,
    });
  };

  const self = {
    owner,

    async deploy(input: DeployInput): Promise<EndpointView> {
      const actor = input.actor ?? 'api';
      const policy = input.policy ?? 'direct';
      const target = await deps.registry.resolveVersion(input.model);
      const detail = await deps.registry.getModelVersionDetail(target.name, target.version);
      const existing = await store.getEndpoint(input.endpoint);
      if (existing === undefined) {
        if (policy !== 'direct' && policy !== 'blue-green') {
          throw invalidState(
            `Endpoint '${input.endpoint}' does not exist yet: deploy a first version with --policy direct`,
          );
        }
        await loadForEndpoint(target.name, target.version);
        const now = deps.clock.nowMs();
        const first: TrafficPolicy = { kind: 'direct', version: target.version };
        await store.transaction(async (trx) => {
          await store.insertEndpoint(trx, {
            name: input.endpoint,
            model: target.name,
            policy_json: JSON.stringify(first),
            stable_version: target.version,
            previous_stable_version: null,
            signature_json: detail.signature === undefined ? null : JSON.stringify(detail.signature),
            webhook_url: input.webhookUrl ?? null,
            revision: 1,
            created_at: now,
            updated_at: now,
          });
          await store.addEvent(trx, {
            endpoint: input.endpoint,
            at: now,
            actor,
            kind: 'create',
            to: { policy: first, stable_version: target.version },
            reason: input.reason ?? 'first deployment',
          });
        });
        await applyPolicy(await requireEndpoint(input.endpoint));
        return self.get(input.endpoint);
      }
      if (existing.model !== target.name) {
        throw invalidParameter(
          `Endpoint '${input.endpoint}' serves model '${existing.model}', not '${target.name}'`,
        );
      }
      const signature =
        existing.signature_json === null
          ? undefined
          : (JSON.parse(existing.signature_json) as ModelSignature);
      if (!sameSignature(signature, detail.signature)) {
        throw invalidParameter(
          `Version ${target.version} of '${target.name}' does not match the endpoint's signature: expected inputs ` +
            `${JSON.stringify(signature?.inputs ?? null)}, got ${JSON.stringify(detail.signature?.inputs ?? null)}`,
        );
      }
      if (await store.activeRollout(input.endpoint)) {
        throw invalidState(
          `Endpoint '${input.endpoint}' has a rollout in progress: promote, abort or roll it back first`,
        );
      }
      if (target.version === existing.stable_version && policy !== 'direct') {
        throw invalidParameter(`Version ${target.version} is already the endpoint's stable version`);
      }
      // Every policy warms the new version before any traffic reaches it.
      await loadForEndpoint(target.name, target.version);
      const stable = existing.stable_version;
      if (input.webhookUrl !== undefined && input.webhookUrl !== existing.webhook_url) {
        await store.transaction((trx) =>
          store.updateEndpoint(trx, existing.name, { webhook_url: input.webhookUrl ?? null }),
        );
        existing.webhook_url = input.webhookUrl;
      }
      switch (policy) {
        case 'direct':
        case 'blue-green':
          await changePolicy(existing, {
            policy: { kind: 'direct', version: target.version },
            stable: target.version,
            kind: policy,
            actor,
            reason: input.reason ?? `switch to version ${target.version}`,
          });
          break;
        case 'shadow':
          await changePolicy(existing, {
            policy: { kind: 'shadow', champion: stable, challenger: target.version },
            kind: 'shadow',
            actor,
            reason: input.reason ?? `shadow version ${target.version}`,
          });
          break;
        case 'ab': {
          const weight = input.weight ?? 50;
          const variants = [
            { version: stable, weight: 100 - weight },
            { version: target.version, weight },
          ];
          validateVariants(variants);
          await changePolicy(existing, {
            policy: { kind: 'split', sticky: true, variants },
            kind: 'ab',
            actor,
            reason: input.reason ?? `A/B ${100 - weight}/${weight}`,
          });
          break;
        }
        case 'canary': {
          const steps = input.steps ?? [10, 50, 100];
          if (
            steps.length === 0 ||
            steps.some((s) => !(s > 0 && s <= 100)) ||
            steps.some((s, i) => i > 0 && s <= (steps[i - 1] as number))
          ) {
            throw invalidParameter(
              `steps: expected increasing weights in (0, 100], got [${steps.join(', ')}]`,
            );
          }
          if (steps[steps.length - 1] !== 100) steps.push(100);
          const intervalMs = input.intervalMs ?? 60_000;
          if (!(intervalMs >= 100))
            throw invalidParameter(`interval: expected at least 100 ms, got ${intervalMs}`);
          const now = deps.clock.nowMs();
          const rollout: RolloutTable = {
            id: newHexId(),
            endpoint: input.endpoint,
            baseline_version: stable,
            candidate_version: target.version,
            steps_json: JSON.stringify(steps),
            interval_ms: intervalMs,
            checks_json: JSON.stringify(input.checks ?? defaultChecks),
            approval: input.approval === true ? 1 : 0,
            awaiting_approval: 0,
            current_step: 0,
            state: 'running',
            step_started_at: now,
            last_analysis_json: null,
            lease_owner: null,
            lease_until: null,
            created_at: now,
            updated_at: now,
          };
          await store.transaction((trx) => store.insertRollout(trx, rollout));
          await changePolicy(existing, {
            policy: canaryPolicy(stable, target.version, steps[0] as number),
            kind: 'canary',
            actor,
            reason:
              input.reason ??
              `canary of version ${target.version}: steps ${steps.join(',')}% every ${intervalMs} ms`,
          });
          break;
        }
      }
      return self.get(input.endpoint);
    },

    async get(name: string): Promise<EndpointView> {
      const row = await requireEndpoint(name);
      return view(row, (await store.activeRollout(name)) ?? (await store.latestRollout(name)));
    },

    async list(): Promise<EndpointView[]> {
      return (await store.listEndpoints()).map((row) => view(row, undefined));
    },

    async history(name: string) {
      await requireEndpoint(name);
      return (await store.events(name)).map((e) => ({
        id: e.id,
        at: e.at,
        actor: e.actor,
        kind: e.kind,
        reason: e.reason,
        ...(e.from_json !== null && { from: JSON.parse(e.from_json) }),
        ...(e.to_json !== null && { to: JSON.parse(e.to_json) }),
      }));
    },

    /** All traffic back to the previous stable version, at once; aborts a rollout in progress. */
    async rollback(name: string, actor = 'api', reason = 'manual rollback'): Promise<EndpointView> {
      const row = await requireEndpoint(name);
      const rollout = await store.activeRollout(name);
      if (rollout !== undefined) {
        await finishRollout(rollout, 'rolled_back', actor, reason);
        return self.get(name);
      }
      const policy = parsePolicy(row);
      if (policy.kind !== 'direct') {
        await changePolicy(row, {
          policy: { kind: 'direct', version: row.stable_version },
          kind: 'rollback',
          actor,
          reason,
        });
        return self.get(name);
      }
      if (row.previous_stable_version === null)
        throw invalidState(`Endpoint '${name}' has no previous version to roll back to`);
      await loadForEndpoint(row.model, row.previous_stable_version);
      await changePolicy(row, {
        policy: { kind: 'direct', version: row.previous_stable_version },
        stable: row.previous_stable_version,
        kind: 'rollback',
        actor,
        reason,
      });
      return self.get(name);
    },

    async promote(name: string, actor = 'api'): Promise<EndpointView> {
      const row = await requireEndpoint(name);
      const rollout = await store.activeRollout(name);
      if (rollout !== undefined) {
        await finishRollout(rollout, 'promoted', actor, 'promoted by hand');
        return self.get(name);
      }
      const policy = parsePolicy(row);
      const candidate =
        policy.kind === 'shadow'
          ? policy.challenger
          : policy.kind === 'split'
            ? policy.variants.find((v) => v.version !== row.stable_version)?.version
            : undefined;
      if (candidate === undefined)
        throw invalidState(
          `Endpoint '${name}' has nothing to promote: no rollout, shadow or A/B test in progress`,
        );
      await changePolicy(row, {
        policy: { kind: 'direct', version: candidate },
        stable: candidate,
        kind: 'promote',
        actor,
        reason: `promoted version ${candidate}`,
      });
      return self.get(name);
    },

    async setPaused(name: string, paused: boolean, actor = 'api'): Promise<EndpointView> {
      await requireEndpoint(name);
      const rollout = await store.activeRollout(name);
      if (rollout === undefined) throw invalidState(`Endpoint '${name}' has no rollout in progress`);
      if ((rollout.state === 'paused') === paused)
        throw invalidState(`The rollout is already ${rollout.state}`);
      if (!paused && rollout.awaiting_approval === 1) {
        await advance(rollout, actor);
        return self.get(name);
      }
      const now = deps.clock.nowMs();
      // Resuming restarts the step's clock, so the analysis window only covers traffic while running.
      await store.updateRollout(store.db, rollout.id, {
        state: paused ? 'paused' : 'running',
        updated_at: now,
        ...(!paused && { step_started_at: now }),
      });
      await store.addEvent(store.db, {
        endpoint: name,
        at: now,
        actor,
        kind: paused ? 'pause' : 'resume',
        reason: paused ? 'rollout paused' : 'rollout resumed',
      });
      return self.get(name);
    },

    async abort(name: string, actor = 'api'): Promise<EndpointView> {
      const rollout = await store.activeRollout(name);
      if (rollout === undefined) {
        await requireEndpoint(name);
        throw invalidState(`Endpoint '${name}' has no rollout in progress`);
      }
      await finishRollout(rollout, 'aborted', actor, 'rollout aborted');
      return self.get(name);
    },

    /** The shadow comparison of an endpoint: agreement rate, mean absolute difference, latency per version. */
    /**
     * Hands a version another part of the process loaded (monitoring's reference predictions) to the release
     * sweep: unloaded after the grace period unless an endpoint routes to it by then.
     */
    releaseWhenUnused(model: string, version: string): void {
      loadedForEndpoints.add(`${model}/${version}`);
      scheduleRelease();
    },

    shadowReport(name: string) {
      const stats = shadows.get(name);
      if (stats === undefined) return { requests: 0 };
      const p99 = (values: number[]) =>
        [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(values.length * 0.99) - 1)] ?? null;
      const compared = stats.requests - stats.errors;
      return {
        requests: stats.requests,
        skipped: stats.skipped,
        errors: stats.errors,
        agreement_rate: compared === 0 ? null : stats.agreements / compared,
        mean_abs_diff: compared === 0 ? null : stats.absDiffSum / compared,
        challenger_p99_ms: p99(stats.latenciesMs),
        champion_p99_ms: p99(stats.championLatenciesMs),
      };
    },

    /** The model a request to an endpoint goes to, or undefined when `name` is not an endpoint. */
    route(name: string, routingKey?: string): RoutedRequest | undefined {
      const endpoint = live.get(name);
      if (endpoint === undefined) return undefined;
      const route: Route = routeRequest(endpoint.policy, routingKey === undefined ? {} : { routingKey });
      const model = endpoint.served.get(route.version);
      if (model === undefined) return undefined;
      const shadow = route.shadow === undefined ? undefined : endpoint.served.get(route.shadow);
      return {
        model,
        ...(shadow !== undefined && { shadow }),
        record: (outcome) => {
          pushSample(name, route.version, { atMs: deps.clock.nowMs(), ...outcome });
          if (shadow !== undefined) keepRecent(shadowStats(name).championLatenciesMs, outcome.latencyMs);
        },
        startShadow: () => {
          // The champion's latency must not depend on the challenger's: copies go one at a time, and the
          // challenger may be busy at most SHADOW_DUTY of the time (a slow one sees a sample of the traffic);
          // the rest are skipped and counted, never queued in front of live traffic.
          const stats = shadowStats(name);
          if (stats.inFlight >= MAX_SHADOW_IN_FLIGHT || performance.now() < stats.nextAllowedAtMs) {
            stats.skipped++;
            return false;
          }
          stats.inFlight++;
          return true;
        },
        cancelShadow: () => {
          shadowStats(name).inFlight--;
        },
        recordShadow: (outcome) => {
          const stats = shadowStats(name);
          stats.inFlight--;
          stats.nextAllowedAtMs = performance.now() + outcome.latencyMs * (1 / SHADOW_DUTY - 1);
          stats.requests++;
          if (!outcome.ok) stats.errors++;
          else {
            keepRecent(stats.latenciesMs, outcome.latencyMs);
            if (outcome.agrees === true) stats.agreements++;
            stats.absDiffSum += outcome.absDiff ?? 0;
          }
        },
      };
    },

    /** Loads every endpoint's routing and starts the controller loop. */
    async start(): Promise<void> {
      await self.tick();
      timer = setInterval(() => void self.tick(), deps.tickMs ?? 1000);
      timer.unref();
    },

    stop(): void {
      if (timer !== undefined) clearInterval(timer);
    },

    /** One pass: pick up endpoint changes made elsewhere, then drive running rollouts. */
    async tick(): Promise<void> {
      if (ticking) return;
      ticking = true;
      try {
        const mine = (name: string) => deps.endpoints === undefined || deps.endpoints.includes(name);
        for (const row of await store.listEndpoints()) {
          if (!mine(row.name)) continue;
          const current = live.get(row.name);
          if (current === undefined || current.revision < row.revision) {
            await applyPolicy(row).catch((error: unknown) =>
              deps.log?.('cannot apply endpoint policy', { endpoint: row.name, error: String(error) }),
            );
          }
        }
        for (const rollout of await store.runningRollouts()) {
          if (!mine(rollout.endpoint)) continue;
          await driveRollout(rollout).catch((error: unknown) =>
            deps.log?.('rollout step failed', { rollout: rollout.id, error: String(error) }),
          );
        }
      } finally {
        ticking = false;
      }
    },
  };

  const shadowStats = (name: string): ShadowStats => {
    let stats = shadows.get(name);
    if (stats === undefined) {
      stats = {
        inFlight: 0,
        nextAllowedAtMs: 0,
        skipped: 0,
        requests: 0,
        errors: 0,
        agreements: 0,
        absDiffSum: 0,
        latenciesMs: [],
        championLatenciesMs: [],
      };
      shadows.set(name, stats);
    }
    return stats;
  };

  return self;
}

export type DeploymentService = ReturnType<typeof createDeploymentService>;

/** Appends to a bounded list of recent values: trimmed to the newest `max` once it doubles (amortised O(1)). */
function keepRecent<T>(list: T[], value: T, max = 10_000): void {
  list.push(value);
  if (list.length > 2 * max) list.splice(0, list.length - max);
}

function canaryPolicy(baseline: string, candidate: string, weight: number): TrafficPolicy {
  return {
    kind: 'split',
    sticky: false,
    variants: [
      { version: baseline, weight: 100 - weight },
      { version: candidate, weight },
    ],
  };
}
