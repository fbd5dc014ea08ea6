/** Event properties: any JSON object (the server accepts at most 32 KiB serialized). */
export type Payload = Record<string, unknown>;

/** One event as the client queues it and POSTs it to the ingest endpoint. */
export interface AnalyticsEvent {
  /** Client-made unique id: the server skips an id it already stored, so a retry never double-counts. */
  id: string;
  /** When the event happened, ISO 8601 in UTC (`Z`). */
  ts: string;
  /** Who did it: the given id, else the identified user, else a persistent anonymous id. */
  user_id: string;
  /** Event type, e.g. `page_view`; must be in the server's allowed list. */
  type: string;
  /** Where the event comes from (at most 64 characters). */
  src: string;
  /** Event properties. */
  payload: Payload;
}

/** The part of the Web Storage API the client uses to persist its queue, ids and opt-out. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Returns a fresh bearer token (or nothing when none can be had); may be async. */
export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;

/** Options for {@link AnalyticsClient}; every one is optional. */
export interface AnalyticsOptions {
  /** Path of the ingest endpoint on `apiUrl`. Default `/api/analytics/ingest`; use `/api/e` to get past ad blockers. */
  endpoint?: string;
  /** `src` of every event. Default `web_app`. */
  src?: string;
  /** Send as soon as this many events are queued. Default 10. */
  flushAt?: number;
  /** Send queued events this many ms after tracking; 0 turns the timer off. Default 5000. */
  flushInterval?: number;
  /** Most events in one request. Default 100 (the server accepts up to its MAX_BATCH_SIZE, 1000). */
  maxBatchSize?: number;
  /** Most events kept waiting; past it the oldest are dropped and counted. Default 1000. */
  maxQueueSize?: number;
  /** Retries of one request after network errors, 5xx and 429 before waiting for the next flush. Default 5. */
  maxRetries?: number;
  /** First backoff delay in ms, doubled on each retry, with jitter. Default 1000. */
  retryDelay?: number;
  /** Longest backoff delay in ms (a server's `Retry-After` is honoured as given). Default 30000. */
  maxRetryDelay?: number;
  /** Abort a request after this many ms and retry it. Default 10000. */
  timeout?: number;
  /** Called once when the server answers 401 (or no token is set), for a fresh token. */
  getToken?: TokenProvider;
  /** Prefix of the storage keys. Default `analytics`. */
  storageKey?: string;
  /** Where to persist; default `localStorage` when usable. `null` keeps everything in memory. */
  storage?: KeyValueStorage | null;
  /** `fetch` to use; default the global one, looked up at send time. */
  fetch?: typeof fetch;
  /** Log what the client does with `console.debug`. Default false. */
  debug?: boolean;
}

/** Counters since the client was made, plus the current queue length. */
export interface AnalyticsStats {
  /** Events waiting to be acknowledged. */
  queued: number;
  /** Events the server acknowledged (new and duplicate). */
  sent: number;
  /** Acknowledged events the server already had (sent before, e.g. by another tab or a reload). */
  duplicates: number;
  /** Events given up: queue full, refused by the server (4xx), too large, or unserializable. */
  dropped: number;
  /** Requests repeated after a network error, 5xx or 429. */
  retries: number;
}
