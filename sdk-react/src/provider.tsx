import { AnalyticsClient, type AnalyticsOptions } from '@analytics-service/sdk';
import { useEffect, useState, type ReactNode } from 'react';
import { AnalyticsContext } from './context.js';

/** Props of {@link AnalyticsProvider}: a service URL (and options) to make the client, or a client made elsewhere. */
export type AnalyticsProviderProps = {
  /** Bearer token; the client always uses the latest one given. */
  token?: string | null;
  children?: ReactNode;
} & (
  | {
      /** Base URL of the analytics service. Read once: to change it, give the provider a new `key`. */
      apiUrl: string;
      /** Client options (endpoint, getToken, flushAt…). Read once, like `apiUrl`. */
      options?: AnalyticsOptions;
      client?: undefined;
    }
  | {
      /** A client to share instead of making one. */
      client: AnalyticsClient;
      apiUrl?: undefined;
      options?: undefined;
    }
);

/**
 * Hold one {@link AnalyticsClient} for the tree below. Under React StrictMode the client is still
 * made once and started once: a client discarded by a double render has done nothing, since a
 * client starts only when used. Sends stored events on mount; flushes on unmount.
 */
export function AnalyticsProvider(props: AnalyticsProviderProps) {
  const [client] = useState(() => props.client ?? new AnalyticsClient(props.apiUrl, props.token, props.options));
  // Assigning the same token again is harmless, and doing it during render means an event
  // tracked in this very commit already goes out with the new token.
  if (props.token !== undefined) client.token = props.token;

  useEffect(() => {
    void client.flush();
    return () => void client.close();
  }, [client]);

  return <AnalyticsContext.Provider value={client}>{props.children}</AnalyticsContext.Provider>;
}
