import { performance } from 'node:perf_hooks';
import { invalidParameter, notFound, SlipwayError } from '../core/errors.js';
import {
  batchesOnFirstDimension,
  type ModelSignature,
  type RegistryService,
  type TensorSpec,
} from '../registry/index.js';
import type { BlobStore } from '../storage/index.js';
import { type Batcher, type BatchPolicy, createBatcher, defaultBatchPolicy } from './batcher.js';
import type { ServingMetrics } from './metrics.js';
import type { PayloadLogger } from './payload-log.js';
import { tensorToJson } from './protocols/tensor-codec.js';
import type { DecodedRequest } from './protocols/v2.js';
import type { LoadedModel, ModelRuntime } from './runtime/model-runtime.js';
import { allocate, type Datatype, elementCount, type TensorMap } from './runtime/tensor.js';

export interface ServingDeps {
  registry: RegistryService;
  blobs: BlobStore;
  runtime: ModelRuntime;
  metrics: ServingMetrics;
  payloadLogger?: PayloadLogger;
  /** Whether to log this request for an endpoint (or a model served directly): per-endpoint sampling. */
  sampleLog?(endpointOrModel: string): boolean;
  batchPolicy?: Partial<BatchPolicy>;
}

/** One loaded model version with its own batching queue. */
export interface ServedModel {
  /** Metric cells bound to this model and version once, so the hot path skips label lookups. */
  meters: {
    ok: { inc(): void };
    latency: { observe(value: number): void };
    queue: { observe(value: number): void };
  };
  name: string;
  version: string;
  signature: ModelSignature;
  state: 'ready' | 'unloading';
  loaded: LoadedModel;
  batcher: Batcher;
  loadedAtMs: number;
}

export type InferenceOutcome = 'ok' | 'bad_request' | 'shed' | 'timeout' | 'error';

/** Where a request came from, for the payload log. */
export interface InferenceContext {
  endpoint?: string;
  shadow?: boolean;
}

export interface InferenceResult {
  model: ServedModel;
  outputs: TensorMap;
}

/**
 * The model repository of a serving process: loads registry versions into the runtime, keeps one batching queue
 * per version, and swaps versions atomically (the new one serves only once warm; the old one finishes what it
 * has, then is freed; a failed load leaves the old one serving).
 */
export function createServingService(deps: ServingDeps) {
  const policy: BatchPolicy = { ...defaultBatchPolicy, ...deps.batchPolicy };
  /** name → version → model */
  const models = new Map<string, Map<string, ServedModel>>();
  /** name → the version unversioned requests go to */
  const defaults = new Map<string, string>();
  /** Loads in progress, so a second request for the same version waits for the first. */
  const loading = new Map<string, Promise<ServedModel>>();
  let draining = false;

  const countLoaded = () => {
    let n = 0;
    for (const versions of models.values()) n += versions.size;
    deps.metrics.modelsLoaded.set(n);
  };

  const retire = async (model: ServedModel) => {
    model.state = 'unloading';
    await model.batcher.idle();
    await model.loaded.dispose();
  };

  const loadVersion = async (name: string, version: string): Promise<ServedModel> => {
    const file = await deps.registry.modelFile(name, version);
    if (file.onnxPath === undefined || file.signature === undefined) {
      throw invalidParameter(
        `Model ${name} version ${version} has no ONNX file to serve${file.flavor === undefined ? '' : ` (flavor '${file.flavor}')`}; Slipway serves ONNX models`,
      );
    }
    const signature = file.signature;
    if (signature.mapOutputs.length > 0) {
      throw invalidParameter(
        `Model ${name} version ${version} has map outputs (${signature.mapOutputs.join(', ')}), which cannot be served as tensors: ` +
          "export it without ZipMap (skl2onnx: options={'zipmap': False})",
      );
    }
    const bytes = await deps.blobs.read(file.onnxPath);
    const loaded = await deps.runtime.load(bytes, { name: `${name}/${version}` });
    const labels = { model: name, version };
    const batchSize = deps.metrics.batchSize.cell(labels);
    const compute = deps.metrics.compute.cell(labels);
    const batcher = createBatcher((inputs, outputNames) => loaded.infer(inputs, outputNames), policy, {
      onBatch: (rows, inferMs) => {
        batchSize.observe(rows);
        compute.observe(inferMs / 1000);
      },
    });
    const model: ServedModel = {
      name,
      version,
      signature,
      state: 'ready',
      loaded,
      batcher,
      loadedAtMs: Date.now(),
      meters: {
        ok: deps.metrics.answeredCell(labels),
        latency: deps.metrics.latency.cell(labels),
        queue: deps.metrics.queue.cell(labels),
      },
    };
    try {
      // Warm every worker's session before the version is reported ready, with one row and with a full batch
      // (as Triton's warm-up does per batch size): ONNX Runtime sizes its buffers on the first run of a shape, so
      // a cold full batch would otherwise land on the first requests, such as a canary's.
      const batchable = batchesOnFirstDimension(signature);
      for (const rows of batchable && policy.maxBatchSize > 1 ? [1, policy.maxBatchSize] : [1]) {
        await Promise.all(
          Array.from({ length: policy.maxConcurrentBatches }, () =>
            loaded.infer(exampleInputs(signature.inputs, rows)),
          ),
        );
      }
    } catch (error) {
      await loaded.dispose();
      throw invalidParameter(
        `Model ${name} version ${version} failed its warm-up inference: ${String((error as Error).message)}`,
      );
    }
    return model;
  };

  deps.metrics.readQueueDepthsFrom(() =>
    self.list().map((m) => ({ model: m.name, version: m.version, rows: m.batcher.queuedRows })),
  );

  const self = {
    /**
     * Loads `name/version`, `name@alias` or `name` (latest) and makes it the default for its name. Resolves when
     * the version is warm and serving.
     */
    async load(reference: string): Promise<ServedModel> {
      if (draining) throw new SlipwayError('TEMPORARILY_UNAVAILABLE', 'The server is shutting down');
      const resolved = await deps.registry.resolveVersion(reference);
      const model = await self.ensureLoaded(resolved.name, resolved.version);
      const previous = defaults.get(resolved.name);
      defaults.set(resolved.name, model.version);
      if (previous !== undefined && previous !== model.version) {
        const old = models.get(resolved.name)?.get(previous);
        models.get(resolved.name)?.delete(previous);
        if (old !== undefined) void retire(old);
      }
      countLoaded();
      return model;
    },

    /**
     * Loads a version next to the others (endpoints route to several at once) without changing the model's
     * default version. Resolves when warm.
     */
    async ensureLoaded(name: string, version: string): Promise<ServedModel> {
      const existing = models.get(name)?.get(version);
      if (existing !== undefined) return existing;
      const key = `${name}/${version}`;
      let pending = loading.get(key);
      if (pending === undefined) {
        pending = loadVersion(name, version);
        loading.set(key, pending);
      }
      try {
        const model = await pending;
        const versions = models.get(name) ?? new Map<string, ServedModel>();
        versions.set(version, model);
        models.set(name, versions);
        if (!defaults.has(name)) defaults.set(name, version);
        countLoaded();
        return model;
      } finally {
        loading.delete(key);
      }
    },

    /** Unloads one version, or every version of a model. In-flight requests finish first. */
    async unload(name: string, version?: string): Promise<void> {
      const versions = models.get(name);
      if (versions === undefined) throw notFound(`Model '${name}' is not loaded`);
      const targets = version === undefined ? [...versions.values()] : [versions.get(version)];
      if (targets.some((t) => t === undefined))
        throw notFound(`Model '${name}' version ${version} is not loaded`);
      for (const model of targets as ServedModel[]) versions.delete(model.version);
      if (versions.size === 0) {
        models.delete(name);
        defaults.delete(name);
      } else if (!versions.has(defaults.get(name) ?? '')) {
        defaults.set(name, [...versions.keys()].at(-1) as string);
      }
      countLoaded();
      await Promise.all((targets as ServedModel[]).map(retire));
    },

    /** The served model for a name and optional version; 404 when it is not loaded. */
    get(name: string, version?: string): ServedModel {
      const versions = models.get(name);
      const chosen = version ?? defaults.get(name);
      const model = chosen === undefined ? undefined : versions?.get(chosen);
      if (model === undefined) {
        throw notFound(
          version === undefined
            ? `Model '${name}' is not loaded`
            : `Model '${name}' version ${version} is not loaded`,
        );
      }
      return model;
    },

    list(): ServedModel[] {
      return [...models.values()].flatMap((versions) => [...versions.values()]);
    },

    /** Runs one decoded request through the model's batcher, with metrics and payload logging. */
    async infer(
      model: ServedModel,
      request: DecodedRequest,
      requestId: string,
      context: InferenceContext = {},
    ): Promise<InferenceResult> {
      const labels = { model: model.name, version: model.version };
      const started = performance.now();
      const logged =
        deps.payloadLogger !== undefined && (deps.sampleLog?.(context.endpoint ?? model.name) ?? true);
      // Input buffers are transferred to the inference worker, so the log's copy is taken first.
      const inputsForLog = logged ? jsonOf(request.inputs) : undefined;
      try {
        const result = await model.batcher.submit(request.inputs, request.rows, {
          exclusive: !request.batchable,
          ...(request.timeoutMs !== undefined && { timeoutMs: request.timeoutMs }),
          ...(request.outputNames !== undefined && { outputNames: request.outputNames }),
        });
        const latencyMs = performance.now() - started;
        model.meters.ok.inc();
        model.meters.latency.observe(latencyMs / 1000);
        model.meters.queue.observe(result.queueMs / 1000);
        if (inputsForLog !== undefined) {
          deps.payloadLogger?.log({
            requestId,
            timestampMs: Date.now(),
            model: model.name,
            version: model.version,
            ...(context.endpoint !== undefined && { endpoint: context.endpoint }),
            ...(context.shadow === true && { shadow: true }),
            rows: request.rows,
            latencyMs,
            inputs: inputsForLog,
            outputs: jsonOf(result.outputs),
          });
        }
        return { model, outputs: result.outputs };
      } catch (error) {
        deps.metrics.requests.inc({ ...labels, outcome: outcomeOf(error) });
        throw error;
      }
    },

    /** Records a request refused before it reached the model (validation). */
    countRejected(model: ServedModel): void {
      deps.metrics.requests.inc({ model: model.name, version: model.version, outcome: 'bad_request' });
    },

    ready(): boolean {
      return !draining;
    },

    /** Stops taking loads and waits until every queue is empty. */
    async drain(): Promise<void> {
      draining = true;
      await Promise.all(self.list().map((m) => m.batcher.idle()));
    },
  };
  return self;
}

export type ServingService = ReturnType<typeof createServingService>;

function outcomeOf(error: unknown): InferenceOutcome {
  const code = (error as SlipwayError).code;
  if (code === 'REQUEST_LIMIT_EXCEEDED' || code === 'TEMPORARILY_UNAVAILABLE') return 'shed';
  if (code === 'DEADLINE_EXCEEDED') return 'timeout';
  if (code === 'INVALID_PARAMETER_VALUE') return 'bad_request';
  return 'error';
}

const jsonOf = (tensors: TensorMap): Record<string, unknown[]> =>
  Object.fromEntries(Object.entries(tensors).map(([name, tensor]) => [name, tensorToJson(tensor)]));

/** An input of zeros (empty strings for BYTES) with `rows` rows that fits the signature, for warm-up. */
function exampleInputs(specs: readonly TensorSpec[], rows: number): TensorMap {
  const inputs: TensorMap = {};
  for (const spec of specs) {
    const shape = spec.shape.map((d, i) => (d >= 0 ? d : i === 0 ? rows : 1));
    inputs[spec.name] = {
      datatype: spec.datatype as Datatype,
      shape,
      data: allocate(spec.datatype as Datatype, elementCount(shape)),
    };
  }
  return inputs;
}
