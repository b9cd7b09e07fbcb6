import type { TensorMap } from './tensor.js';

/** The inputs and outputs a loaded model declares, as its runtime reports them. */
export interface RuntimeIo {
  inputs: { name: string; datatype: string; shape: (number | string)[] }[];
  outputs: { name: string; datatype: string; shape: (number | string)[] }[];
}

/** A model ready to run. `infer` may be called concurrently; the runtime schedules the work. */
export interface LoadedModel {
  readonly io: RuntimeIo;
  infer(inputs: TensorMap, outputNames?: readonly string[]): Promise<TensorMap>;
  /** Frees the model's memory in every worker. In-flight calls finish first. */
  dispose(): Promise<void>;
}

/** Runs models of one format (ONNX today). Chosen at composition; domain code sees only this interface. */
export interface ModelRuntime {
  load(model: Uint8Array, options?: { name?: string }): Promise<LoadedModel>;
  /** Stops the runtime's workers. */
  close(): Promise<void>;
}
