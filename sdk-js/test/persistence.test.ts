import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AnalyticsClient } from '../src/index.js';
import { fakeFetch, makeClient, memoryStorage, reply, trackMany } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('persistence across a reload', () => {
  it('sends, after a reload, the events the previous page could not', async () => {
    const before = fakeFetch(new TypeError('offline'));
    const page1 = new AnalyticsClient('https://an.example', 'tok', { fetch: before.fetch, maxRetries: 0 });
    trackMany(page1, 3);
    await page1.flush();
    expect(page1.stats().queued).toBe(3);

    const after = fakeFetch();
    const page2 = new AnalyticsClient('https://an.example', 'tok', { fetch: after.fetch });
    expect(page2.stats().queued).toBe(3);
    await page2.flush();
    expect(after.sent[0].events.map((e) => e.id)).toEqual(before.sent[0].events.map((e) => e.id));
    expect(page2.stats().queued).toBe(0);
    expect(new AnalyticsClient('https://an.example', 'tok').stats().queued).toBe(0);
  });

  it('keeps separate queues per ingest URL', () => {
    const storage = memoryStorage();
    new AnalyticsClient('https://a.example', 't', { storage }).track('page_view', {}, 'u');
    expect(new AnalyticsClient('https://b.example', 't', { storage }).stats().queued).toBe(0);
    expect(new AnalyticsClient('https://a.example', 't', { storage }).stats().queued).toBe(1);
  });

  it('lets two clients on one storage (two tabs) share the queue without losing events', async () => {
    const storage = memoryStorage();
    const { fetch, sent } = fakeFetch();
    const tab1 = makeClient({ storage, fetch, flushAt: 100 });
    const tab2 = makeClient({ storage, fetch, flushAt: 100 });
    tab1.track('page_view', { tab: 1 }, 'u');
    tab2.track('page_view', { tab: 2 }, 'u');
    tab1.track('page_view', { tab: 1 }, 'u');
    await tab2.flush();
    expect(sent[0].events.map((e) => e.payload.tab)).toEqual([1, 2, 1]);
    expect(tab1.stats().queued).toBe(0);
  });
});

describe('bounded queue', () => {
  it('drops the oldest events past maxQueueSize and counts them', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, maxQueueSize: 3, flushAt: 100 });
    trackMany(client, 5);
    expect(client.stats()).toMatchObject({ queued: 3, dropped: 2 });
    await client.flush();
    expect(sent[0].events.map((e) => e.payload.i)).toEqual([2, 3, 4]);
  });

  it('keeps the bound while the server is down', async () => {
    const { fetch } = fakeFetch(...Array.from({ length: 50 }, () => reply(503)));
    const client = makeClient({ fetch, maxQueueSize: 20, maxRetries: 0 });
    trackMany(client, 100);
    await vi.advanceTimersByTimeAsync(0);
    expect(client.stats()).toMatchObject({ queued: 20, dropped: 80 });
  });
});

describe('storage fallbacks', () => {
  it('falls back to memory when storage is full', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, storage: memoryStorage(true), flushAt: 100 });
    trackMany(client, 2);
    expect(client.stats().queued).toBe(2);
    await client.flush();
    expect(sent[0].events).toHaveLength(2);
  });

  it('uses storage again once a write succeeds, leaving no stale copy behind', () => {
    const storage = memoryStorage();
    const client = makeClient({ storage, flushAt: 100 });
    trackMany(client, 1);
    const setItem = storage.setItem;
    storage.setItem = () => {
      throw new Error('QuotaExceededError');
    };
    trackMany(client, 1);
    expect([...storage.data.keys()].some((k) => k.includes('queue'))).toBe(false);
    expect(client.stats().queued).toBe(2);
    storage.setItem = setItem;
    trackMany(client, 1);
    expect(makeClient({ storage }).stats().queued).toBe(3);
  });

  it('works in memory with storage: null', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, storage: null });
    trackMany(client, 1);
    await client.flush();
    expect(sent).toHaveLength(1);
    expect(localStorage.length).toBe(0);
  });

  it('survives a localStorage that throws on access (sandboxed frames, disabled cookies)', async () => {
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new Error('SecurityError');
    });
    const { fetch, sent } = fakeFetch();
    const client = new AnalyticsClient('https://an.example', 'tok', { fetch });
    trackMany(client, 1);
    await client.flush();
    expect(sent).toHaveLength(1);
  });

  it('ignores a corrupt stored queue', () => {
    const storage = memoryStorage();
    storage.setItem('analytics:queue:https://an.example/api/analytics/ingest', '{not json');
    expect(makeClient({ storage }).stats().queued).toBe(0);
  });
});

describe('user ids', () => {
  it('uses a persistent anonymous id when no user id is given or identified', async () => {
    const { fetch, sent } = fakeFetch();
    const client = new AnalyticsClient('https://an.example', 'tok', { fetch });
    client.track('page_view');
    await client.flush();
    const anon = sent[0].events[0].user_id;
    expect(anon).toMatch(/^[0-9a-f-]{36}$/);
    expect(new AnalyticsClient('https://an.example', 'tok').getCurrentUserId()).toBe(anon);
  });

  it('uses the identified user, across reloads, and a given user id over both', async () => {
    const { fetch, sent } = fakeFetch();
    const client = new AnalyticsClient('https://an.example', 'tok', { fetch });
    client.identify('user-42');
    client.track('page_view');
    client.track('page_view', {}, 'explicit');
    await client.flush();
    expect(sent[0].events.map((e) => e.user_id)).toEqual(['user-42', 'explicit']);
    expect(new AnalyticsClient('https://an.example', 'tok').getCurrentUserId()).toBe('user-42');
  });

  it('forgets the user and starts a new anonymous id on reset', () => {
    const client = makeClient();
    const anon = client.getCurrentUserId();
    client.identify('user-42');
    client.reset();
    const next = client.getCurrentUserId();
    expect(next).not.toBe('user-42');
    expect(next).not.toBe(anon);
  });
});

describe('opt-out', () => {
  it('stops tracking, discards the queue, and is remembered across reloads', async () => {
    const { fetch, sent } = fakeFetch();
    const client = new AnalyticsClient('https://an.example', 'tok', { fetch });
    trackMany(client, 2);
    client.optOut();
    expect(client.isOptedOut()).toBe(true);
    trackMany(client, 2);
    await client.flush();
    expect(sent).toHaveLength(0);
    expect(client.stats().queued).toBe(0);

    const reloaded = new AnalyticsClient('https://an.example', 'tok', { fetch });
    expect(reloaded.isOptedOut()).toBe(true);
    reloaded.optIn();
    trackMany(reloaded, 1);
    await reloaded.flush();
    expect(sent).toHaveLength(1);
  });
});
