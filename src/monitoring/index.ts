export { ALERT_METRICS, type AlertCondition, parseAlertCondition, stepAlert } from './alert-rule.js';
export {
  type ColumnReport,
  compareProfiles,
  type DatasetComparison,
  type DatasetProfile,
  mergeDatasetProfiles,
  profileColumns,
  profileReference,
} from './dataset-profile.js';
export { type DatasetSource, readColumns } from './dataset-reader.js';
export { createMonitoringMetrics, type MonitoringMetrics } from './metrics.js';
export {
  type CategoricalProfile,
  type ColumnProfile,
  mergeProfiles,
  type NumericProfile,
  type ProfileDrift,
  profileColumn,
  profileDrift,
  profileQuantile,
  profileStd,
  referenceBins,
} from './profile.js';
export { renderComparisonHtml, renderMonitorReportHtml } from './report-html.js';
export { monitoringRoutes } from './routes.js';
export {
  compareColumns,
  createMonitoringService,
  type LabelOutcome,
  type MonitorConfig,
  type MonitoringService,
  type MonitorResult,
  monitorConfigSchema,
  type PipelineTrigger,
} from './service.js';
export { type BinnedProportions, binProportions, type QuantileBins, quantileBins } from './stats/binning.js';
export { chiSquareCategorical } from './stats/chi-square.js';
export { detectDatasetDrift, detectFeatureDrift } from './stats/drift.js';
export { jensenShannonDistance } from './stats/jensen-shannon.js';
export { ksTwoSample } from './stats/ks-test.js';
export {
  type ClassificationMetrics,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
  rocAuc,
} from './stats/performance.js';
export { populationStabilityIndex } from './stats/psi.js';
export { wassersteinDistance, wassersteinNormed } from './stats/wasserstein.js';
