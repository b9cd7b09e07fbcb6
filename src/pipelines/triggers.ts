import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Cron } from 'croner';
import type { Clock } from '../core/clock.js';
import { matchFiles } from './cache-key.js';
import type { PipelineStore } from './store.js';

/** What started a run. `resume` is not a trigger but is recorded the same way. */
export type TriggerReason = 'manual' | 'schedule' | 'alert' | 'data';

export interface SchedulerDeps {
  store: PipelineStore;
  clock: Clock;
  owner: string;
  /** How often schedules are checked (default 1 s). */
  tickMs?: number;
  trigger: (pipeline: string, reason: TriggerReason, input: unknown) => Promise<unknown>;
  /** Called every tick by the process that holds the lease (e.g. to fail runs whose process died). */
  onTick?: () => Promise<void>;
  log: (message: string, fields?: object) => void;
}

const LEASE = 'scheduler';

/**
 * The latest cron time in (after, now], or undefined when none is due. Several missed times collapse into one run:
 * a control plane that was down for an hour starts one catch-up run, not sixty.
 */
export function dueFireTime(schedule: string, afterMs: number, nowMs: number): number | undefined {
  const cron = new Cron(schedule, { paused: true });
  try {
    let due: number | undefined;
    let next = cron.nextRun(new Date(afterMs));
    while (next !== null && next.getTime() <= nowMs) {
      due = next.getTime();
      next = cron.nextRun(next);
    }
    return due;
  } finally {
    cron.stop();
  }
}

/** A digest of the files a data trigger watches: names, sizes and modification times (no content reads). */
export async function dataFingerprint(
  workingDir: string,
  pattern: string,
): Promise<{ fingerprint: string; files: { path: string; sizeBytes: number; mtimeMs: number }[] }> {
  const files = [];
  for (const path of await matchFiles(workingDir, pattern)) {
    const info = await stat(resolve(workingDir, path)).catch(() => undefined);
    if (info !== undefined) files.push({ path, sizeBytes: info.size, mtimeMs: info.mtimeMs });
  }
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\u0000${f.sizeBytes}\u0000${f.mtimeMs}\n`);
  return { fingerprint: hash.digest('hex'), files };
}

/**
 * Drives cron schedules and data triggers. Every process runs the loop, but only the one holding the
 * `scheduler` lease acts, and each firing is claimed with a conditional update, so a time or a change starts
 * exactly one run even across restarts and replicas.
 */
export function createPipelineScheduler(deps: SchedulerDeps) {
  const tickMs = deps.tickMs ?? 1000;
  const lastPolledAt = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  async function tick(): Promise<void> {
    const now = deps.clock.nowMs();
    if (!(await deps.store.acquireLease(LEASE, deps.owner, now, now + Math.max(5000, tickMs * 5)))) return;
    await deps.onTick?.();
    for (const pipeline of await deps.store.listPipelines()) {
      if (pipeline.schedule !== null) {
        const after = pipeline.last_fire_at ?? pipeline.updated_at;
        const due = dueFireTime(pipeline.schedule, after, now);
        if (due !== undefined && (await deps.store.claimFire(pipeline.name, pipeline.last_fire_at, due))) {
          await fire(pipeline.name, 'schedule', {
            schedule: pipeline.schedule,
            scheduled_at: new Date(due).toISOString(),
          });
        }
      }
      if (pipeline.data_path !== null) {
        const pollMs = pipeline.data_poll_ms ?? 30_000;
        if (now - (lastPolledAt.get(pipeline.name) ?? 0) < pollMs) continue;
        lastPolledAt.set(pipeline.name, now);
        const seen = await dataFingerprint(pipeline.working_dir, pipeline.data_path);
        if (seen.fingerprint === pipeline.data_fingerprint) continue;
        if (await deps.store.claimFingerprint(pipeline.name, pipeline.data_fingerprint, seen.fingerprint)) {
          await fire(pipeline.name, 'data', { path: pipeline.data_path, files: seen.files });
        }
      }
    }
  }

  async function fire(pipeline: string, reason: TriggerReason, input: unknown): Promise<void> {
    try {
      await deps.trigger(pipeline, reason, input);
    } catch (error) {
      deps.log('pipeline trigger failed', { pipeline, reason, error: String(error) });
    }
  }

  const safeTick = () => {
    if (ticking !== undefined) return;
    ticking = tick()
      .catch((error: unknown) => deps.log('pipeline scheduler tick failed', { error: String(error) }))
      .finally(() => {
        ticking = undefined;
      });
  };

  return {
    start(): void {
      if (timer !== undefined) return;
      safeTick();
      timer = setInterval(safeTick, tickMs);
    },
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await ticking;
      await deps.store.releaseLease(LEASE, deps.owner).catch(() => undefined);
    },
    /** One pass now (tests, and the first pass after start). */
    tick,
  };
}
