import { vi } from 'vitest';
import { AnalyticsClient } from '../src/index.js';
import type { AnalyticsEvent, AnalyticsOptions, KeyValueStorage } from '../src/index.js';

/** A Map-backed storage, optionally full (every write throws like a quota error). */
export function memoryStorage(full = false): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => {
      if (full) throw new DOMException('quota', 'QuotaExceededError');
      data.set(k, v);
    },
    removeItem: (k) => void data.delete(k),
  };
}

/** A minimal fetch Response. */
export function reply(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status,
    headers: { get: (k: string) => lower[k.toLowerCase()] ?? null },
    json: async () => {
      if (body === undefined) throw new SyntaxError('no body');
      return body;
    },
  } as unknown as Response;
}

/** A request the fake fetch saw. */
export interface Sent {
  url: string;
  init: RequestInit;
  headers: Record<string, string>;
  events: AnalyticsEvent[];
  /** Date.now() when it was sent. */
  at: number;
}

type Answer = Response | Error | Promise<Response> | undefined;

/** A fetch that records requests and answers each with `handler` (undefined: a 200 ack). */
export function handlerFetch(handler: (sent: Sent) => Answer) {
  const sent: Sent[] = [];
  const fn = vi.fn(async (url: string | URL | Request, init: RequestInit = {}) => {
    const s: Sent = {
      url: String(url),
      init,
      headers: init.headers as Record<string, string>,
      events: JSON.parse(String(init.body)),
      at: Date.now(),
    };
    sent.push(s);
    const a = await handler(s);
    if (a instanceof Error) throw a;
    return a ?? reply(200, { ingested: s.events.length, duplicates: 0 });
  });
  return { fetch: fn as unknown as typeof fetch, sent };
}

/** A fetch that answers from `answers` in turn, then with 200 acks. */
export function fakeFetch(...answers: Array<Answer | ((sent: Sent) => Answer)>) {
  return handlerFetch((s) => {
    const next = answers.shift();
    return typeof next === 'function' ? next(s) : next;
  });
}

/** A client over a memory storage and a fake fetch. */
export function makeClient(options: AnalyticsOptions = {}, token: string | null = 'tok') {
  return new AnalyticsClient('https://an.example', token, { storage: memoryStorage(), ...options });
}

/** Track `n` page views. */
export function trackMany(client: AnalyticsClient, n: number, payload: Record<string, unknown> = {}) {
  for (let i = 0; i < n; i++) client.track('page_view', { i, ...payload }, 'u1');
}
