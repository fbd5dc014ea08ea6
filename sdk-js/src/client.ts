import { backoff } from './backoff.js';
import { fit } from './fit.js';
import { uuid } from './id.js';
import { onPageHide } from './page-hide.js';
import { EventQueue } from './queue.js';
import { Store, defaultStorage } from './store.js';
import { later, sleep, type Timer } from './timers.js';
import { post, type Reply } from './transport.js';
import type { AnalyticsEvent, AnalyticsOptions, AnalyticsStats, Payload } from './types.js';
import { judge } from './verdict.js';

const DEFAULTS = {
  endpoint: '/api/analytics/ingest',
  src: 'web_app',
  flushAt: 10,
  flushInterval: 5000,
  maxBatchSize: 100,
  maxQueueSize: 1000,
  maxRetries: 5,
  retryDelay: 1000,
  maxRetryDelay: 30000,
  timeout: 10000,
  storageKey: 'analytics',
};

/**
 * Tracks events and delivers them to the analytics service in batches: one request in flight at a
 * time, an event leaving the queue only once the server acknowledged it, retries with backoff,
 * and a bounded queue persisted to `localStorage` so events survive reloads.
 */
export class AnalyticsClient {
  /** Base URL of the analytics service, e.g. `https://analytics.example.com`. */
  readonly apiUrl: string;
  /** Bearer token sent with each request; assign a new one at any time. */
  token: string | null | undefined;
  /** Log what the client does with `console.debug`. */
  debug: boolean;
  private readonly o: typeof DEFAULTS & AnalyticsOptions;
  private readonly store: Store;
  private readonly queue: EventQueue;
  private readonly counts = { sent: 0, duplicates: 0, dropped: 0, retries: 0 };
  private busy?: Promise<void>;
  private again = false;
  private timer?: Timer;
  private detach?: () => void;

  /**
   * Make a client. Nothing runs until the first `track()` or `flush()`, so making one during
   * server-side rendering or a discarded React render is harmless.
   */
  constructor(apiUrl: string, token?: string | null, options: AnalyticsOptions = {}) {
    this.apiUrl = apiUrl.replace(/\/+$/, '');
    this.token = token;
    const o: Record<string, unknown> = (this.o = { ...DEFAULTS });
    for (const [k, v] of Object.entries(options)) if (v !== undefined) o[k] = v;
    this.debug = !!options.debug;
    this.store = new Store(options.storage === undefined ? defaultStorage() : options.storage || undefined);
    this.queue = new EventQueue(this.store, this.key('queue:' + this.url()), this.o.maxQueueSize);
  }

  /** Queue an event; sends at once when `flushAt` events wait. Never throws. */
  track(type: string, payload: Payload = {}, userId?: string | null): void {
    try {
      if (this.isOptedOut()) return;
      const event: AnalyticsEvent = {
        id: uuid(),
        ts: new Date().toISOString(),
        user_id: userId || this.getCurrentUserId(),
        type,
        src: this.o.src,
        payload: JSON.parse(JSON.stringify(payload || {})),
      };
      this.log('track', event);
      this.lose(this.queue.push(event), 'queue full');
      this.start();
      if (this.queue.all().length >= this.o.flushAt) void this.deliver();
    } catch (e) {
      this.lose(1, e);
    }
  }

  /**
   * Send everything queued now. Resolves when the queue is empty or sending paused (retries used
   * up, or the server refused the token): those events stay queued for the next flush. Never rejects.
   */
  flush(): Promise<void> {
    this.start();
    return this.deliver();
  }

  /** Attribute later events to `userId` (kept across reloads) instead of the anonymous id. */
  identify(userId: string): void {
    this.store.set(this.key('user'), userId);
  }

  /** Forget the identified user and start a new anonymous id (e.g. on sign-out). */
  reset(): void {
    this.store.set(this.key('user'), '');
    this.store.set(this.key('anon'), uuid());
  }

  /** The identified user, else a persistent anonymous id. */
  getCurrentUserId(): string {
    const anon = this.key('anon');
    let id = this.store.get(this.key('user')) || this.store.get(anon);
    if (!id) this.store.set(anon, (id = uuid()));
    return id;
  }

  /** Stop tracking on this device (kept across reloads) and discard the queued events. */
  optOut(): void {
    this.store.set(this.key('optout'), '1');
    this.queue.clear();
  }

  /** Track again after {@link optOut}. */
  optIn(): void {
    this.store.set(this.key('optout'), '');
  }

  /** Whether {@link optOut} is in force. */
  isOptedOut(): boolean {
    return this.store.get(this.key('optout')) === '1';
  }

  /** Counters since this client was made, and the queue length. */
  stats(): AnalyticsStats {
    return { queued: this.queue.all().length, ...this.counts };
  }

  /** Stop the flush timer and page-hide listeners, then send what is queued. A later `track()` starts them again. */
  close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.detach) this.detach();
    this.detach = undefined;
    return this.deliver();
  }

  private url(): string {
    return this.apiUrl + this.o.endpoint;
  }

  private key(name: string): string {
    return this.o.storageKey + ':' + name;
  }

  private start(): void {
    if (!this.detach) this.detach = onPageHide(() => void this.deliver());
    if (!this.timer && this.o.flushInterval > 0) {
      this.timer = later(() => {
        this.timer = undefined;
        void this.deliver();
      }, this.o.flushInterval);
    }
  }

  private deliver(): Promise<void> {
    this.again = true;
    if (!this.busy) this.busy = this.run();
    return this.busy;
  }

  /** Drain, and drain again if asked meanwhile (a drain may have just seen an empty queue). */
  private async run(): Promise<void> {
    try {
      while (this.again) {
        this.again = false;
        if (!(await this.drain())) break;
      }
    } catch (e) {
      this.log('send failed', e);
    }
    this.busy = undefined;
    if (this.detach && this.queue.all().length) this.start();
  }

  /** Send batches from the head of the queue; true once it is empty, false when sending has to pause. */
  private async drain(): Promise<boolean> {
    let limit = this.o.maxBatchSize;
    let attempt = 0;
    let refreshed = false;
    for (;;) {
      const head = this.queue.all().slice(0, limit);
      if (!head.length || this.isOptedOut()) return true;
      const batch = head.slice(0, fit(head));
      const reply: Reply = this.token
        ? await post(this.o.fetch, this.url(), this.token, batch, this.o.timeout)
        : { status: 401 };
      const verdict = judge(reply, batch.length);
      this.log(reply.status || 'network error', verdict);
      if (verdict.action === 'retry') {
        if (attempt >= this.o.maxRetries) return false;
        this.counts.retries++;
        await sleep(verdict.delay ?? backoff(attempt, this.o.retryDelay, this.o.maxRetryDelay));
        attempt++;
      } else if (verdict.action === 'auth') {
        if (refreshed || !(await this.refreshToken())) return false;
        refreshed = true;
      } else if (verdict.action === 'split') {
        limit = Math.ceil(batch.length / 2);
      } else {
        attempt = 0;
        const gone = verdict.action === 'ack' ? batch : verdict.indices.map((i) => batch[i]);
        this.queue.remove(gone.map((e) => e.id));
        if (verdict.action === 'drop') this.lose(gone.length, reply.status);
        else {
          this.counts.sent += batch.length;
          this.counts.duplicates += verdict.duplicates;
        }
      }
    }
  }

  private async refreshToken(): Promise<boolean> {
    try {
      const token = this.o.getToken && (await this.o.getToken());
      if (token) this.token = token;
      return !!token;
    } catch (e) {
      this.log('getToken failed', e);
      return false;
    }
  }

  private lose(n: number, why: unknown): void {
    if (!n) return;
    this.counts.dropped += n;
    this.log('dropped', n, why);
  }

  private log(...args: unknown[]): void {
    if (this.debug) console.debug('[analytics]', ...args);
  }
}
