/** Type tests, checked by `npm run typecheck` (not run): the public API accepts and refuses the right things. */
import { AnalyticsClient, type AnalyticsStats } from '../src/index.js';

const seed = new AnalyticsClient('http://api.example.com', 'jwt-token');
seed.track('page_view', { page: '/dashboard' });
seed.track('course_complete', { course_id: 'course-123', completion_time: 3600, score: 85 }, 'user-1');
seed.track('page_view', {}, null);
const flushed: Promise<void> = seed.flush();

const withOptions = new AnalyticsClient('https://a.example', null, {
  endpoint: '/api/e',
  getToken: async () => 'fresh',
  storage: null,
  debug: true,
});
const stats: AnalyticsStats = withOptions.stats();
withOptions.token = 'next';

// @ts-expect-error the event type is required
seed.track();
// @ts-expect-error a payload is an object, not a string
seed.track('page_view', 'oops');
// @ts-expect-error unknown options are refused
new AnalyticsClient('https://a.example', 't', { flushEvery: 3 });
// @ts-expect-error getToken returns a token, not a number
new AnalyticsClient('https://a.example', 't', { getToken: () => 42 });
// @ts-expect-error apiUrl is read-only
seed.apiUrl = 'x';

export { flushed, stats };
