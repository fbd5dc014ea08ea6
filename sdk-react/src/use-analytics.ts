import type { AnalyticsClient, Payload } from '@analytics-service/sdk';
import { useContext, useMemo } from 'react';
import { AnalyticsContext } from './context.js';
import { sharedClient } from './shared-client.js';

/** What {@link useAnalytics} returns; the same object on every render. */
export interface Analytics {
  /** Queue an event (see `AnalyticsClient.track`); never throws. */
  track(type: string, payload?: Payload, userId?: string | null): void;
  /** Attribute later events to `userId`. */
  identify(userId: string): void;
  /** Send queued events now. */
  flush(): Promise<void>;
  /** The underlying client, for `optOut()`, `stats()`, `reset()`… */
  client: AnalyticsClient;
}

/** Track with the client of the nearest {@link AnalyticsProvider}. */
export function useAnalytics(): Analytics;
/**
 * The seed's form: track with the one client this page keeps for `apiUrl`, made on first use,
 * its token kept current. Needs no provider.
 */
export function useAnalytics(apiUrl: string, token?: string | null): Analytics;
export function useAnalytics(apiUrl?: string, token?: string | null): Analytics {
  const provided = useContext(AnalyticsContext);
  const client = apiUrl ? sharedClient(apiUrl, token) : provided;
  if (!client) {
    throw new Error('useAnalytics() needs an <AnalyticsProvider> above it, or call it as useAnalytics(apiUrl, token).');
  }
  return useMemo(
    () => ({
      track: (type, payload, userId) => client.track(type, payload, userId),
      identify: (userId) => client.identify(userId),
      flush: () => client.flush(),
      client,
    }),
    [client],
  );
}
