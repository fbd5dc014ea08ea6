export type {
  AnalyticsEvent,
  AnalyticsOptions,
  AnalyticsStats,
  KeyValueStorage,
  Payload,
  TokenProvider,
} from './types.js';
export { AnalyticsClient } from './client.js';
