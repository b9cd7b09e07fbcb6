export {
  type ClientOptions,
  createClient,
  type SearchRunsOptions,
  SlipwayApiError,
  type SlipwayClient,
} from './client.js';
