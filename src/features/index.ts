export {
  type Definitions,
  definitionsSchema,
  loadDefinitionsFile,
  parseDefinitions,
  parseTtlMs,
} from './definitions.js';
export { type DefinitionChange, diffDefinitions } from './diff.js';
export { createEnricher, type Enricher } from './enrichment.js';
export { planFeatures } from './feature-plan.js';
export { createFeatureMetrics, type FeatureMetrics } from './metrics.js';
export { createOfflineStore, type HistoricalResult, type OfflineStore } from './offline-store.js';
export { encodeEntityKey, type OnlineStore } from './online/online-store.js';
export { createRedisOnlineStore } from './online/redis-online-store.js';
export { createSqliteOnlineStore } from './online/sqlite-online-store.js';
export { featureRoutes } from './routes.js';
export {
  createFeatureService,
  type EndpointBinding,
  type FeatureService,
  type MaterializeResult,
  type OnlineFeaturesResponse,
} from './service.js';
export { buildTrainingSet, trainingSetDataset } from './training-set.js';
