import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { invalidParameter, SlipwayError } from '../../core/errors.js';
import type { LoadedModel, ModelRuntime, RuntimeIo } from './model-runtime.js';
import type { WorkerReply, WorkerRequest } from './onnx-worker.js';
import type { Tensor, TensorMap } from './tensor.js';

interface PoolWorker {
  worker: Worker;
  inFlight: number;
  pending: Map<number, { resolve(reply: WorkerReply): void; reject(error: Error): void }>;
}

export interface OnnxRuntimeOptions {
  /** Worker threads; default: one per core. */
  workers?: number;
  /** ORT intra-op threads per session; default 1, so workers × threads never oversubscribes the cores. */
  intraOpThreads?: number;
}

/**
 * ONNX Runtime behind a pool of worker threads. `session.run` is a synchronous native call that would block the
 * event loop for the whole inference, so every session lives in the workers (each worker holds a session of
 * every loaded model) and the event loop only routes requests to the least busy worker.
 */
export function createOnnxRuntime(options: OnnxRuntimeOptions = {}): ModelRuntime {
  const size = Math.max(1, options.workers ?? availableParallelism());
  const intraOpThreads = options.intraOpThreads ?? 1;
  let nextId = 1;
  let nextKey = 1;
  let closed = false;

  const workerFile = resolveWorkerFile();
  const pool: PoolWorker[] = Array.from({ length: size }, () => {
    const worker = workerFile.compiled
      ? new Worker(workerFile.url)
      : // Running from TypeScript sources (tests, tsx): register tsx inside the worker, then load the source.
        new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerFile.url.href)}); })`,
          { eval: true },
        );
    const entry: PoolWorker = { worker, inFlight: 0, pending: new Map() };
    worker.on('message', (reply: WorkerReply) => {
      const waiter = entry.pending.get(reply.id);
      if (waiter === undefined) return;
      entry.pending.delete(reply.id);
      entry.inFlight--;
      // An idle pool must not keep the process alive; a busy one must.
      if (entry.inFlight === 0) entry.worker.unref();
      waiter.resolve(reply);
    });
    worker.on('error', (error) => {
      for (const waiter of entry.pending.values()) waiter.reject(error);
      entry.pending.clear();
    });
    worker.unref();
    return entry;
  });

  const send = (
    entry: PoolWorker,
    request: WorkerRequest,
    transfer: ArrayBuffer[] = [],
  ): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new SlipwayError('TEMPORARILY_UNAVAILABLE', 'The model runtime is shut down'));
        return;
      }
      if (entry.inFlight === 0) entry.worker.ref();
      entry.inFlight++;
      entry.pending.set(request.id, { resolve, reject });
      entry.worker.postMessage(request, transfer);
    });

  const leastBusy = (): PoolWorker => pool.reduce((best, w) => (w.inFlight < best.inFlight ? w : best));

  return {
    async load(model, loadOptions = {}): Promise<LoadedModel> {
      const key = `${loadOptions.name ?? 'model'}#${nextKey++}`;
      const replies = await Promise.all(
        pool.map((entry) =>
          send(entry, { type: 'load', id: nextId++, key, bytes: new Uint8Array(model), intraOpThreads }),
        ),
      );
      const failure = replies.find((r) => r.type === 'error');
      if (failure !== undefined && failure.type === 'error') {
        await Promise.all(pool.map((entry) => send(entry, { type: 'unload', id: nextId++, key })));
        throw invalidParameter(
          `Cannot load model ${loadOptions.name ?? ''}: ${failure.message}`.replace('  ', ' '),
        );
      }
      const first = replies[0];
      if (first?.type !== 'loaded')
        throw new SlipwayError('INTERNAL_ERROR', 'model load answered unexpectedly');
      const io: RuntimeIo = first.io;
      let active = 0;
      let drained: (() => void) | undefined;
      let disposed = false;
      return {
        io,
        async infer(inputs: TensorMap, outputNames?: readonly string[]): Promise<TensorMap> {
          if (disposed) throw new SlipwayError('TEMPORARILY_UNAVAILABLE', `Model ${key} was unloaded`);
          active++;
          try {
            const transfer = Object.values(inputs).flatMap((t: Tensor) =>
              Array.isArray(t.data) ||
              t.data.byteOffset !== 0 ||
              t.data.byteLength !== t.data.buffer.byteLength
                ? []
                : [t.data.buffer as ArrayBuffer],
            );
            const reply = await send(
              leastBusy(),
              {
                type: 'run',
                id: nextId++,
                key,
                feeds: inputs,
                ...(outputNames !== undefined && { outputNames }),
              },
              transfer,
            );
            if (reply.type === 'error')
              throw new SlipwayError('INTERNAL_ERROR', `Inference failed: ${reply.message}`);
            if (reply.type !== 'result')
              throw new SlipwayError('INTERNAL_ERROR', 'inference answered unexpectedly');
            return reply.outputs;
          } finally {
            active--;
            if (active === 0) drained?.();
          }
        },
        async dispose() {
          disposed = true;
          if (active > 0) await new Promise<void>((resolve) => (drained = resolve));
          await Promise.all(pool.map((entry) => send(entry, { type: 'unload', id: nextId++, key })));
        },
      };
    },

    async close() {
      closed = true;
      await Promise.all(pool.map((entry) => entry.worker.terminate()));
    },
  };
}

/** The compiled worker next to this file, or the TypeScript source when running from source. */
function resolveWorkerFile(): { url: URL; compiled: boolean } {
  const compiled = new URL('./onnx-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { url: compiled, compiled: true };
  return { url: new URL('./onnx-worker.ts', import.meta.url), compiled: false };
}
