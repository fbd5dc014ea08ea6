import { parseRetryAfter } from './backoff.js';
import { KEEPALIVE_LIMIT, byteLength } from './fit.js';
import { later } from './timers.js';
import type { AnalyticsEvent } from './types.js';

/** What came back from one POST: status 0 for a network error or timeout. */
export interface Reply {
  status: number;
  /** `Retry-After` in ms, when the server sent one (and CORS exposes it). */
  retryAfter?: number;
  /** The JSON body, when there was one. */
  data?: unknown;
}

/**
 * POST a batch once. The body goes with `keepalive` whenever it fits the browser's 64 KiB
 * budget, so a request in flight survives the page being closed. `X-Sent-At` is set now, at
 * the moment of this attempt, for the server's clock-skew correction.
 */
export async function post(
  fetchFn: typeof fetch | undefined,
  url: string,
  token: string,
  batch: AnalyticsEvent[],
  timeout: number,
): Promise<Reply> {
  const body = JSON.stringify(batch);
  const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
  const timer = later(() => abort && abort.abort(), timeout);
  try {
    const send = fetchFn || fetch;
    const res = await send(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'X-Sent-At': new Date().toISOString(),
      },
      body,
      keepalive: byteLength(body) <= KEEPALIVE_LIMIT,
      signal: abort && abort.signal,
    });
    let data: unknown;
    try {
      data = await res.json();
    } catch {
      // An empty or non-JSON body: the status says enough.
    }
    return { status: res.status, retryAfter: parseRetryAfter(res.headers.get('Retry-After')), data };
  } catch {
    return { status: 0 };
  } finally {
    clearTimeout(timer);
  }
}
