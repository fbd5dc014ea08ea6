import type { AnalyticsEvent } from '@analytics-service/sdk';
import { vi } from 'vitest';

/** A request the fake fetch saw. */
export interface Sent {
  url: string;
  init: RequestInit;
  headers: Record<string, string>;
  events: AnalyticsEvent[];
}

/** A fetch that records every request and acknowledges it. */
export function fakeFetch() {
  const sent: Sent[] = [];
  const fn = vi.fn(async (url: string | URL | Request, init: RequestInit = {}) => {
    const events: AnalyticsEvent[] = JSON.parse(String(init.body));
    sent.push({ url: String(url), init, headers: init.headers as Record<string, string>, events });
    return new Response(JSON.stringify({ ingested: events.length, duplicates: 0 }), { status: 200 });
  });
  return { fetch: fn as unknown as typeof fetch, sent, events: () => sent.flatMap((s) => s.events) };
}

/** Client options that keep a test to itself: its own fetch, memory storage, no timer. */
export function isolated(fetch: typeof globalThis.fetch) {
  return { fetch, storage: null, flushInterval: 0 };
}

/** Start counting `pagehide` listeners added to window (minus those removed); returns the reader. */
export function countPageHideListeners(): () => number {
  const add = vi.spyOn(window, 'addEventListener');
  const remove = vi.spyOn(window, 'removeEventListener');
  const count = (spy: typeof add | typeof remove) => spy.mock.calls.filter(([type]) => type === 'pagehide').length;
  return () => count(add) - count(remove);
}
