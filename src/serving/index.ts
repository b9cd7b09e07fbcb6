export { type BatchPolicy, createBatcher, defaultBatchPolicy } from './batcher.js';
export { createServingMetrics, type ServingMetrics } from './metrics.js';
export {
  createJsonlPayloadSink,
  createPayloadLogger,
  type PayloadLogger,
  type PayloadRecord,
  type PayloadSink,
} from './payload-log.js';
export { decodeInvocation } from './protocols/invocations.js';
export { type EndpointRouter, servingRoutes } from './routes.js';
export type { LoadedModel, ModelRuntime } from './runtime/model-runtime.js';
export { createOnnxRuntime } from './runtime/onnx-runtime.js';
export type { Tensor, TensorMap } from './runtime/tensor.js';
export { createServingService, type ServedModel, type ServingService } from './service.js';
