/** Type tests, checked by `npm run typecheck` (not run): the public API accepts and refuses the right things. */
import { AnalyticsClient } from '@analytics-service/sdk';
import { AnalyticsProvider, PageView, useAnalytics, usePageView, type Analytics } from '../src/index.js';

export function Seed() {
  const { track }: Pick<Analytics, 'track'> = useAnalytics('http://api.example.com', 'jwt-token');
  track('page_view', { page: '/dashboard' });
  // @ts-expect-error apiUrl is a string
  useAnalytics(42);
  // @ts-expect-error payload is an object
  track('page_view', 'oops');
  usePageView('/x', { from: 'menu' });
  return <PageView path="/x" />;
}

export const fromUrl = <AnalyticsProvider apiUrl="https://a.example" token="t" options={{ endpoint: '/api/e' }} />;
export const fromClient = <AnalyticsProvider client={new AnalyticsClient('https://a.example', 't')} />;
// @ts-expect-error needs apiUrl or client
export const neither = <AnalyticsProvider token="t" />;
// @ts-expect-error options go with apiUrl, not with a ready client
export const both = <AnalyticsProvider client={new AnalyticsClient('https://a.example', 't')} options={{}} />;
