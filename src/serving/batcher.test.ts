import { describe, expect, it } from 'vitest';
import { createBatcher, defaultBatchPolicy } from './batcher.js';
import type { TensorMap } from './runtime/tensor.js';

const rowsTensor = (values: number[], width = 2): TensorMap => ({
  x: { datatype: 'FP32', shape: [values.length / width, width], data: Float32Array.from(values) },
});

/** A model whose output row i is the sum of input row i; it records the batch sizes it was called with. */
function summingModel(options: { delayMs?: number; gate?: Promise<void> } = {}) {
  const calls: number[] = [];
  const infer = async (inputs: TensorMap): Promise<TensorMap> => {
    const x = inputs.x as { shape: number[]; data: Float32Array };
    const rows = x.shape[0] as number;
    const width = x.shape[1] as number;
    calls.push(rows);
    if (options.gate !== undefined) await options.gate;
    if (options.delayMs !== undefined) await new Promise((r) => setTimeout(r, options.delayMs));
    const y = new Float32Array(rows);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < width; c++) y[r] = (y[r] as number) + (x.data[r * width + c] as number);
    return { y: { datatype: 'FP32', shape: [rows, 1], data: y } };
  };
  return { infer, calls };
}

/** One turn of the event loop: the batcher reads its queue once per turn. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('dynamic batcher', () => {
  it('batches every request that arrived in the same turn, without waiting longer', async () => {
    const model = summingModel();
    const batcher = createBatcher(model.infer, defaultBatchPolicy);
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.submit(rowsTensor([i, i]), 1)));
    expect(results.map((r) => r.outputs.y?.data[0])).toEqual([2, 4, 6, 8, 10]);
    expect(model.calls).toEqual([5]);
    // Alone, a request runs in the next turn.
    await batcher.submit(rowsTensor([1, 1]), 1);
    expect(model.calls).toEqual([5, 1]);
  });

  it('merges queued requests up to maxBatchSize and splits outputs back in order', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const model = summingModel({ gate });
    const batcher = createBatcher(model.infer, {
      ...defaultBatchPolicy,
      maxBatchSize: 4,
      maxConcurrentBatches: 1,
    });
    // The first request occupies the only slot; the next five queue and run as batches of 4 rows then 1.
    const first = batcher.submit(rowsTensor([1, 1]), 1);
    await turn();
    const queued = [1, 2, 3, 4, 5].map((i) => batcher.submit(rowsTensor([i, 10 * i]), 1));
    expect(batcher.queuedRows).toBe(5);
    open();
    const results = await Promise.all([first, ...queued]);
    expect(results.map((r) => Array.from(r.outputs.y?.data as Float32Array))).toEqual([
      [2],
      [11],
      [22],
      [33],
      [44],
      [55],
    ]);
    expect(model.calls).toEqual([1, 4, 1]);
    expect(results[1]?.batchRows).toBe(4);
  });

  it('keeps multi-row requests whole and never merges different trailing shapes', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const model = summingModel({ gate });
    const batcher = createBatcher(model.infer, {
      ...defaultBatchPolicy,
      maxBatchSize: 8,
      maxConcurrentBatches: 1,
    });
    const blocker = batcher.submit(rowsTensor([0, 0]), 1);
    await turn();
    const a = batcher.submit(rowsTensor([1, 2, 3, 4]), 2);
    const b = batcher.submit(rowsTensor([1, 1, 1], 3), 1);
    const c = batcher.submit(rowsTensor([5, 5]), 1);
    open();
    const [, ra, rb, rc] = await Promise.all([blocker, a, b, c]);
    expect(Array.from(ra?.outputs.y?.data as Float32Array)).toEqual([3, 7]);
    expect(Array.from(rb?.outputs.y?.data as Float32Array)).toEqual([3]);
    expect(Array.from(rc?.outputs.y?.data as Float32Array)).toEqual([10]);
    expect(model.calls).toEqual([1, 3, 1]);
  });

  it('refuses at once with 429 when the queue is full', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const batcher = createBatcher(summingModel({ gate }).infer, {
      ...defaultBatchPolicy,
      maxQueueSize: 2,
      maxConcurrentBatches: 1,
    });
    const running = batcher.submit(rowsTensor([1, 1]), 1);
    await turn();
    const q1 = batcher.submit(rowsTensor([1, 1]), 1);
    const q2 = batcher.submit(rowsTensor([1, 1]), 1);
    await expect(batcher.submit(rowsTensor([1, 1]), 1)).rejects.toMatchObject({
      code: 'REQUEST_LIMIT_EXCEEDED',
      status: 429,
    });
    open();
    await Promise.all([running, q1, q2]);
  });

  it('answers 504 at the deadline and drops the queued work instead of running it late', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const model = summingModel({ gate });
    const batcher = createBatcher(model.infer, { ...defaultBatchPolicy, maxConcurrentBatches: 1 });
    const running = batcher.submit(rowsTensor([1, 1]), 1);
    await turn();
    const late = batcher.submit(rowsTensor([2, 2]), 1, { timeoutMs: 20 });
    await expect(late).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED', status: 504 });
    expect(batcher.queuedRows).toBe(0);
    open();
    await running;
    await batcher.idle();
    expect(model.calls).toEqual([1]);
  });

  it('waits up to maxQueueDelayMs to fill a batch', async () => {
    const model = summingModel();
    const batcher = createBatcher(model.infer, {
      ...defaultBatchPolicy,
      maxBatchSize: 3,
      maxQueueDelayMs: 30,
      maxConcurrentBatches: 1,
    });
    const results = await Promise.all([1, 2, 3].map((i) => batcher.submit(rowsTensor([i, i]), 1)));
    expect(results.map((r) => r.outputs.y?.data[0])).toEqual([2, 4, 6]);
    expect(model.calls).toEqual([3]);
  });

  it('passes inference errors to every caller of the batch and keeps serving', async () => {
    let fail = true;
    const batcher = createBatcher(async (inputs) => {
      if (fail) throw new Error('boom');
      return { y: inputs.x as NonNullable<TensorMap['x']> };
    }, defaultBatchPolicy);
    await expect(batcher.submit(rowsTensor([1, 2]), 1)).rejects.toThrow('boom');
    fail = false;
    await expect(batcher.submit(rowsTensor([1, 2]), 1)).resolves.toMatchObject({ batchRows: 1 });
  });
});

describe('dynamic batcher isolation', () => {
  it('fails only the bad request of a merged batch', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    let first = true;
    const batcher = createBatcher(
      async (inputs) => {
        if (first) {
          first = false;
          await gate;
        }
        const x = inputs.x as { data: Float32Array; shape: number[] };
        if (Array.from(x.data).includes(-1)) throw new Error('index out of range');
        return { y: inputs.x as NonNullable<TensorMap['x']> };
      },
      { ...defaultBatchPolicy, maxBatchSize: 8, maxConcurrentBatches: 1 },
    );
    const blocker = batcher.submit(rowsTensor([0, 0]), 1);
    await turn();
    const good = [1, 2, 3].map((i) => batcher.submit(rowsTensor([i, i]), 1));
    const bad = batcher.submit(rowsTensor([-1, 5]), 1);
    open();
    await blocker;
    await expect(bad).rejects.toThrow('index out of range');
    const results = await Promise.all(good);
    expect(results.map((r) => Array.from(r.outputs.y?.data as Float32Array))).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });
});
