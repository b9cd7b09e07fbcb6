export type { BuiltinResult, GateRunner } from './builtin-steps.js';
export { cacheKey, digestFiles } from './cache-key.js';
export { findCycle, planNext, type StepState } from './dag.js';
export type { ExecutionResult, Executor, StepExecution } from './executors/executor.js';
export {
  connectionFromKubeconfig,
  createKubernetesExecutor,
  type JobManifest,
  type KubeConnection,
  type KubernetesExecutorOptions,
  renderJobManifest,
  resolveKubeConnection,
} from './executors/kubernetes-executor.js';
export { createLocalExecutor } from './executors/local-executor.js';
export {
  type GateDependencies,
  type GateModelSummary,
  type GateOptions,
  type GateResult,
  type GateTask,
  type MetricOutcome,
  renderGateReport,
  runGate,
  type SliceOutcome,
} from './gate.js';
export { type FetchedModel, fetchModel, normalizeModelRef } from './gate-models.js';
export {
  type CheckOutcome,
  checkRule,
  GATE_METRICS,
  type GateMetric,
  type MetricRule,
  parseMetricRule,
} from './gate-rules.js';
export { pipelineRoutes } from './routes.js';
export type { StoredOutput } from './runner.js';
export {
  createPipelineService,
  type PipelineDeps,
  type PipelineRunView,
  type PipelineService,
  type PipelineStepView,
  type PipelineView,
  type StartRunInput,
} from './service.js';
export {
  type GateStepOptions,
  type PipelineSpec,
  PipelineSpecError,
  parsePipelineSpec,
  type SpecProblem,
  type StepSpec,
} from './spec.js';
export { dueFireTime, type TriggerReason } from './triggers.js';
