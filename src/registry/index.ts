export * from './model.js';
export {
  batchesOnFirstDimension,
  type ModelSignature,
  readOnnxSignature,
  type TensorDatatype,
  type TensorSpec,
} from './onnx-signature.js';
export { registryRoutes } from './routes.js';
export { createRegistryService, type RegistryService } from './service.js';
