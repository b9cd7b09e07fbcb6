import { performance } from 'node:perf_hooks';
import { SlipwayError } from '../core/errors.js';
import { concatRows, splitRows, type TensorMap } from './runtime/tensor.js';

export interface BatchPolicy {
  /** Most rows in one batch sent to the runtime. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for others to join its batch. */
  maxQueueDelayMs: number;
  /** Most requests waiting (as Triton counts); one more is refused at once (429), never queued. */
  maxQueueSize: number;
  /** Batches running at once (normally the runtime's worker count). */
  maxConcurrentBatches: number;
}

export const defaultBatchPolicy: BatchPolicy = {
  maxBatchSize: 64,
  maxQueueDelayMs: 0,
  maxQueueSize: 256,
  maxConcurrentBatches: 2,
};

export interface BatchResult {
  outputs: TensorMap;
  queueMs: number;
  inferMs: number;
  batchRows: number;
}

export interface BatchObserver {
  onBatch?(rows: number, inferMs: number): void;
}

interface Job {
  inputs: TensorMap;
  rows: number;
  /** Jobs batch together only when their inputs' trailing shapes, datatypes and requested outputs agree. */
  groupKey: string;
  outputNames: readonly string[] | undefined;
  enqueuedAt: number;
  deadlineTimer: NodeJS.Timeout | undefined;
  settled: boolean;
  resolve(result: BatchResult): void;
  reject(error: Error): void;
}

type Infer = (inputs: TensorMap, outputNames?: readonly string[]) => Promise<TensorMap>;

/**
 * Dynamic batching for one model version: requests queue, are merged along the batch dimension up to
 * `maxBatchSize` rows, run, and their outputs are split back to each caller in order. A request past its
 * deadline is answered 504 and dropped from the queue (never run late); a full queue answers 429 at once.
 */
export function createBatcher(infer: Infer, policy: BatchPolicy, observer: BatchObserver = {}) {
  const queue: Job[] = [];
  let queuedRows = 0;
  let running = 0;
  let timer: NodeJS.Timeout | undefined;
  let idleWaiters: (() => void)[] = [];
  let exclusiveCount = 0;

  const settle = (job: Job) => {
    job.settled = true;
    if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
  };

  const removeFromQueue = (job: Job) => {
    const index = queue.indexOf(job);
    if (index >= 0) {
      queue.splice(index, 1);
      queuedRows -= job.rows;
    }
  };

  const checkIdle = () => {
    if (running === 0 && queue.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  const takeBatch = (): Job[] => {
    const head = queue[0];
    if (head === undefined) return [];
    const batch: Job[] = [];
    let rows = 0;
    for (let i = 0; i < queue.length; ) {
      const job = queue[i] as Job;
      if (job.groupKey === head.groupKey && (batch.length === 0 || rows + job.rows <= policy.maxBatchSize)) {
        batch.push(job);
        rows += job.rows;
        queue.splice(i, 1);
        queuedRows -= job.rows;
        if (rows >= policy.maxBatchSize) break;
      } else {
        i++;
      }
    }
    return batch;
  };

  const runBatch = async (batch: Job[]) => {
    running++;
    const startedAt = performance.now();
    try {
      const names = Object.keys(batch[0]?.inputs ?? {});
      const merged: TensorMap = {};
      for (const name of names)
        merged[name] = concatRows(batch.map((job) => job.inputs[name] as NonNullable<TensorMap[string]>));
      const outputs = await infer(merged, batch[0]?.outputNames);
      const inferMs = performance.now() - startedAt;
      const rowCounts = batch.map((job) => job.rows);
      const totalRows = rowCounts.reduce((a, b) => a + b, 0);
      observer.onBatch?.(totalRows, inferMs);
      const parts: Record<string, TensorMap[string][]> = {};
      for (const [name, tensor] of Object.entries(outputs)) {
        // Outputs without a batch dimension (rare: scalars) go whole to every caller.
        parts[name] = tensor.shape[0] === totalRows ? splitRows(tensor, rowCounts) : batch.map(() => tensor);
      }
      batch.forEach((job, index) => {
        if (job.settled) return;
        settle(job);
        const jobOutputs: TensorMap = {};
        for (const [name, list] of Object.entries(parts))
          jobOutputs[name] = list[index] as NonNullable<TensorMap[string]>;
        job.resolve({
          outputs: jobOutputs,
          queueMs: startedAt - job.enqueuedAt,
          inferMs,
          batchRows: totalRows,
        });
      });
    } catch (error) {
      if (batch.length > 1) {
        // One bad request must not fail the others merged with it: run each alone to find out which fails.
        await Promise.all(batch.map((job) => runAlone(job)));
      } else {
        for (const job of batch) {
          if (job.settled) continue;
          settle(job);
          job.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      running--;
      pump();
      checkIdle();
    }
  };

  const runAlone = async (job: Job) => {
    if (job.settled) return;
    const startedAt = performance.now();
    try {
      const outputs = await infer(job.inputs, job.outputNames);
      if (job.settled) return;
      settle(job);
      job.resolve({
        outputs,
        queueMs: startedAt - job.enqueuedAt,
        inferMs: performance.now() - startedAt,
        batchRows: job.rows,
      });
    } catch (error) {
      if (job.settled) return;
      settle(job);
      job.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };

  // With no queue delay, a batch still takes every request that arrived in the same turn of the event loop: the
  // queue is read once the turn's I/O has been handled (setImmediate), not on each submit. Under load that makes
  // batches of what the sockets delivered together, at no added wait; alone, a request waits only for the turn.
  let pumpScheduled = false;
  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  };

  const pump = () => {
    while (running < policy.maxConcurrentBatches && queue.length > 0) {
      const oldest = queue[0] as Job;
      const waited = performance.now() - oldest.enqueuedAt;
      if (queuedRows < policy.maxBatchSize && waited < policy.maxQueueDelayMs) {
        if (timer === undefined) {
          timer = setTimeout(() => {
            timer = undefined;
            pump();
          }, policy.maxQueueDelayMs - waited);
        }
        return;
      }
      void runBatch(takeBatch());
    }
  };

  return {
    /**
     * Queues one request of `rows` rows. `timeoutMs` bounds the wait in the queue; once the batch is running it
     * completes (inference cannot be interrupted) but an expired caller has already been answered.
     */
    submit(
      inputs: TensorMap,
      rows: number,
      options: { timeoutMs?: number; outputNames?: readonly string[]; exclusive?: boolean } = {},
    ): Promise<BatchResult> {
      if (queue.length >= policy.maxQueueSize) {
        return Promise.reject(
          new SlipwayError(
            'REQUEST_LIMIT_EXCEEDED',
            `The model's queue is full (${queue.length} requests waiting); retry later`,
          ),
        );
      }
      return new Promise<BatchResult>((resolve, reject) => {
        // Models with a fixed first dimension cannot merge requests: each runs alone.
        const groupKey =
          options.exclusive === true
            ? `exclusive#${++exclusiveCount}`
            : JSON.stringify([
                Object.entries(inputs).map(([n, t]) => [n, t.datatype, t.shape.slice(1)]),
                options.outputNames ?? null,
              ]);
        const job: Job = {
          inputs,
          rows,
          groupKey,
          outputNames: options.outputNames,
          enqueuedAt: performance.now(),
          deadlineTimer: undefined,
          settled: false,
          resolve,
          reject,
        };
        if (options.timeoutMs !== undefined) {
          job.deadlineTimer = setTimeout(() => {
            if (job.settled) return;
            settle(job);
            removeFromQueue(job);
            reject(
              new SlipwayError(
                'DEADLINE_EXCEEDED',
                `The request's deadline of ${options.timeoutMs} ms passed before it could run`,
              ),
            );
          }, options.timeoutMs);
        }
        queue.push(job);
        queuedRows += rows;
        if (queuedRows >= policy.maxBatchSize) pump();
        else schedulePump();
      });
    },

    get queuedRows() {
      return queuedRows;
    },

    /** Resolves when nothing is queued or running (used to retire an old version after a swap). */
    idle(): Promise<void> {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}

export type Batcher = ReturnType<typeof createBatcher>;
