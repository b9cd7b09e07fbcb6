export {
  analyseStep,
  type CheckResult,
  type CheckSpec,
  defaultChecks,
  type VersionWindow,
} from './analysis.js';
export { deploymentRoutes } from './routes.js';
export {
  createDeploymentService,
  type DeployInput,
  type DeploymentService,
  type EndpointView,
} from './service.js';
export { routeRequest, type TrafficPolicy, validateVariants } from './traffic-policy.js';
