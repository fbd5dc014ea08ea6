import type { Store } from './store.js';
import type { AnalyticsEvent } from './types.js';

/**
 * Bounded FIFO of events kept in a {@link Store} under one key. The store is read on every call
 * rather than cached, so tabs (and clients) sharing a storage never overwrite each other's events;
 * at worst two of them send the same event, which the server skips by its `id`.
 */
export class EventQueue {
  constructor(
    private readonly store: Store,
    private readonly key: string,
    private readonly max: number,
  ) {}

  /** Every queued event, oldest first. */
  all(): AnalyticsEvent[] {
    try {
      const list: unknown = JSON.parse(this.store.get(this.key) || '[]');
      return Array.isArray(list) ? list : [];
    } catch {
      return [];
    }
  }

  /** Append `event`, dropping the oldest past the bound; returns how many were dropped. */
  push(event: AnalyticsEvent): number {
    const list = this.all();
    list.push(event);
    const over = Math.max(0, list.length - this.max);
    this.save(list.slice(over));
    return over;
  }

  /** Remove the events with these ids. */
  remove(ids: string[]): void {
    const gone = new Set(ids);
    this.save(this.all().filter((e) => !gone.has(e.id)));
  }

  /** Remove every event. */
  clear(): void {
    this.save([]);
  }

  private save(list: AnalyticsEvent[]): void {
    this.store.set(this.key, JSON.stringify(list));
  }
}
