export { artifactRoutes } from './artifact-routes.js';
export { type MlflowEndpoint, registerMlflowEndpoint } from './mlflow-endpoint.js';
export * from './model.js';
export { trackingRoutes } from './routes.js';
export {
  experimentSearchGrammar,
  type FilterClause,
  modelVersionSearchGrammar,
  type OrderByClause,
  parseOrderBy,
  parseSearchFilter,
  registeredModelSearchGrammar,
  runSearchGrammar,
} from './search-filter.js';
export { createTrackingService, type Page, type TrackingService } from './service.js';
export { compareClause } from './store.js';
export { limits as trackingLimits } from './validation.js';
