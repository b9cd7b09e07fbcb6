export { trainFlightsModel } from './flights-model.js';
export { type MonthOutcome, type QuickstartOptions, type QuickstartSummary, runQuickstart } from './run.js';
