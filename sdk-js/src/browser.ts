/** Entry of the script-tag build: exposes `window.Analytics.AnalyticsClient`. */
export { AnalyticsClient } from './client.js';
