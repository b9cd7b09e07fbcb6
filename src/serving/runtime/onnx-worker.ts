import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { RuntimeIo } from './model-runtime.js';
import { DATATYPE_OF_ORT, type Datatype, ORT_TYPE, type Tensor, type TensorData } from './tensor.js';

/** Messages between the pool and a worker. Tensor buffers are transferred, not copied. */
export type WorkerRequest =
  | { type: 'load'; id: number; key: string; bytes: Uint8Array; intraOpThreads: number }
  | { type: 'run'; id: number; key: string; feeds: Record<string, Tensor>; outputNames?: readonly string[] }
  | { type: 'unload'; id: number; key: string };

export type WorkerReply =
  | { type: 'loaded'; id: number; io: RuntimeIo }
  | { type: 'result'; id: number; outputs: Record<string, Tensor> }
  | { type: 'unloaded'; id: number }
  | { type: 'error'; id: number; message: string };

const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort;
if (port === null) throw new Error('onnx-worker must run in a worker thread');

const describe = (metadata: readonly ort.InferenceSession.ValueMetadata[]): RuntimeIo['inputs'] =>
  metadata.map((m) =>
    m.isTensor
      ? { name: m.name, datatype: DATATYPE_OF_ORT[m.type] ?? m.type, shape: [...m.shape] }
      : { name: m.name, datatype: 'NON_TENSOR', shape: [] },
  );

function toOrt(tensor: Tensor): ort.Tensor {
  const type = ORT_TYPE[tensor.datatype] as ort.Tensor.Type;
  return new ort.Tensor(type, tensor.data as ort.Tensor.DataType, tensor.shape);
}

function fromOrt(value: ort.OnnxValue): Tensor {
  const tensor = value as ort.Tensor;
  const datatype: Datatype = DATATYPE_OF_ORT[tensor.type] ?? 'FP32';
  return { datatype, shape: [...tensor.dims], data: tensor.data as TensorData };
}

const transferables = (outputs: Record<string, Tensor>): ArrayBuffer[] =>
  Object.values(outputs).flatMap((t) => (Array.isArray(t.data) ? [] : [t.data.buffer as ArrayBuffer]));

port.on('message', async (message: WorkerRequest) => {
  try {
    switch (message.type) {
      case 'load': {
        const session = await ort.InferenceSession.create(message.bytes, {
          intraOpNumThreads: message.intraOpThreads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
        });
        sessions.get(message.key)?.release();
        sessions.set(message.key, session);
        const reply: WorkerReply = {
          type: 'loaded',
          id: message.id,
          io: { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) },
        };
        port.postMessage(reply);
        return;
      }
      case 'run': {
        const session = sessions.get(message.key);
        if (session === undefined) throw new Error(`model ${message.key} is not loaded in this worker`);
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, tensor] of Object.entries(message.feeds)) feeds[name] = toOrt(tensor);
        const results =
          message.outputNames === undefined
            ? await session.run(feeds)
            : await session.run(feeds, [...message.outputNames]);
        const outputs: Record<string, Tensor> = {};
        for (const [name, value] of Object.entries(results)) outputs[name] = fromOrt(value);
        const reply: WorkerReply = { type: 'result', id: message.id, outputs };
        port.postMessage(reply, transferables(outputs));
        return;
      }
      case 'unload': {
        await sessions.get(message.key)?.release();
        sessions.delete(message.key);
        port.postMessage({ type: 'unloaded', id: message.id } satisfies WorkerReply);
        return;
      }
    }
  } catch (error) {
    port.postMessage({
      type: 'error',
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    } satisfies WorkerReply);
  }
});
