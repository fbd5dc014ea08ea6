import { AnalyticsClient } from '@analytics-service/sdk';

const clients = new Map<string, AnalyticsClient>();

/**
 * The one client for `apiUrl` in this page, made on first use, with `token` made current. On the
 * server each call gets a fresh client, so no user's token outlives the request that rendered it.
 */
export function sharedClient(apiUrl: string, token: string | null | undefined): AnalyticsClient {
  if (typeof window === 'undefined') return new AnalyticsClient(apiUrl, token, { storage: null });
  let client = clients.get(apiUrl);
  if (!client) clients.set(apiUrl, (client = new AnalyticsClient(apiUrl, token)));
  if (token !== undefined) client.token = token;
  return client;
}
