import type { Reply } from './transport.js';

/** What to do with a batch after the server's reply. */
export type Verdict =
  /** Acknowledged: remove the batch. */
  | { action: 'ack'; duplicates: number }
  /** Refused for good: remove these events (indices into the batch); the rest are resent. */
  | { action: 'drop'; indices: number[] }
  /** Try the same batch again after `delay` ms (the server's Retry-After) or a backoff. */
  | { action: 'retry'; delay?: number }
  /** Too large: send it in halves. */
  | { action: 'split' }
  /** Unauthorized: get a fresh token. */
  | { action: 'auth' };

/** The ingest contract's rules, as a pure function of the reply and the batch length. */
export function judge(reply: Reply, size: number): Verdict {
  const { status, data } = reply;
  if (status >= 200 && status < 300) {
    return { action: 'ack', duplicates: Number((data as { duplicates?: unknown })?.duplicates) || 0 };
  }
  if (status === 401) return { action: 'auth' };
  if (status === 413 && size > 1) return { action: 'split' };
  if (!status || status === 429 || status >= 500) return { action: 'retry', delay: reply.retryAfter };
  const named = status === 422 ? namedIndices(data, size) : [];
  return { action: 'drop', indices: named.length ? named : [...Array(size).keys()] };
}

/** Indices of the events a 422 body names under `errors.json`, within the batch. */
function namedIndices(data: unknown, size: number): number[] {
  const json = (data as { errors?: { json?: object } })?.errors?.json;
  return Object.keys(json || {})
    .map(Number)
    .filter((i) => Number.isInteger(i) && i >= 0 && i < size);
}
