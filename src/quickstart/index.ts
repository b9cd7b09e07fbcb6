export { trainFlightsModel } from './flights-model.js';
export {
  type MonthOutcome,
  type QuickstartOptions,
  type QuickstartSummary,
  type RetrainOutcome,
  runQuickstart,
} from './run.js';
