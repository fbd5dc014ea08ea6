import type { Payload } from '@analytics-service/sdk';
import { useEffect, useRef } from 'react';
import { useAnalytics } from './use-analytics.js';

/**
 * Track a `page_view` of `path` (default `location.pathname`) when it first renders and each time
 * `path` changes, with the previous path as `referrer` (`document.referrer` for the first).
 * StrictMode's second effect run sees the same path and tracks nothing.
 */
export function usePageView(path?: string | null, payload?: Payload): void {
  const { track } = useAnalytics();
  const last = useRef<string | undefined>(undefined);
  const extra = useRef(payload);
  extra.current = payload;

  useEffect(() => {
    const page = path ?? window.location.pathname;
    if (page === last.current) return;
    const referrer = last.current ?? document.referrer;
    last.current = page;
    track('page_view', { page, ...(referrer ? { referrer } : {}), ...extra.current });
  }, [path, track]);
}
