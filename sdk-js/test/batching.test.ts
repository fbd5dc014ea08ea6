import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AnalyticsClient } from '../src/index.js';
import { fakeFetch, makeClient, memoryStorage, reply, trackMany } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching', () => {
  it('sends nothing before the threshold and the ten queued events at the tenth track', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    trackMany(client, 9);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(0);
    client.track('page_view', {}, 'u1');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    expect(sent[0].events).toHaveLength(10);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 10 });
  });

  it('honours a custom flushAt', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, flushAt: 2 });
    trackMany(client, 2);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent[0].events).toHaveLength(2);
  });

  it('flushes on a timer after flushInterval', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, flushInterval: 3000 });
    client.track('button_click', { button_id: 'save' }, 'u1');
    await vi.advanceTimersByTimeAsync(2999);
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(1);
    expect(sent[0].events[0]).toMatchObject({ type: 'button_click', payload: { button_id: 'save' } });
  });

  it('sets no timer when flushInterval is 0', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, flushInterval: 0 });
    client.track('page_view', {}, 'u1');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(0);
    await client.flush();
    expect(sent).toHaveLength(1);
  });

  it('splits a large queue into maxBatchSize requests, one after the other', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, maxBatchSize: 4, flushAt: 100 });
    trackMany(client, 10);
    await client.flush();
    expect(sent.map((s) => s.events.length)).toEqual([4, 4, 2]);
  });

  it('does nothing on flush with an empty queue', async () => {
    const { fetch, sent } = fakeFetch();
    await makeClient({ fetch }).flush();
    expect(sent).toHaveLength(0);
  });
});

describe('the request', () => {
  it('posts JSON with the bearer token and X-Sent-At to the ingest path', async () => {
    const { fetch, sent } = fakeFetch();
    const client = new AnalyticsClient('https://an.example/', 'jwt-1', { fetch, storage: memoryStorage() });
    client.track('page_view', { page: '/dashboard' }, 'user-123');
    await client.flush();
    const { url, init, headers } = sent[0];
    expect(url).toBe('https://an.example/api/analytics/ingest');
    expect(init.method).toBe('POST');
    expect(headers.Authorization).toBe('Bearer jwt-1');
    expect(headers['Content-Type']).toBe('application/json');
    expect(new Date(headers['X-Sent-At']).toISOString()).toBe(headers['X-Sent-At']);
  });

  it('uses the endpoint option, e.g. the neutral path that ad blockers leave alone', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, endpoint: '/api/e' });
    client.track('page_view', {}, 'u1');
    await client.flush();
    expect(sent[0].url).toBe('https://an.example/api/e');
  });

  it('makes events in the seed shape with a unique id and only the known fields', async () => {
    vi.setSystemTime(new Date('2024-01-01T12:00:00Z'));
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    client.track('page_view', { page: '/dashboard' }, 'user-123');
    client.track('page_view');
    await client.flush();
    const [a, b] = sent[0].events;
    expect(Object.keys(a).sort()).toEqual(['id', 'payload', 'src', 'ts', 'type', 'user_id']);
    expect(a).toMatchObject({
      ts: '2024-01-01T12:00:00.000Z',
      user_id: 'user-123',
      type: 'page_view',
      src: 'web_app',
      payload: { page: '/dashboard' },
    });
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.id).not.toBe(a.id);
    expect(b.payload).toEqual({});
  });

  it('keeps the defaults for options given as undefined', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, endpoint: undefined, src: undefined, flushAt: undefined });
    trackMany(client, 10);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent[0].url).toBe('https://an.example/api/analytics/ingest');
    expect(sent[0].events[0].src).toBe('web_app');
  });

  it('uses the src option', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, src: 'checkout' });
    client.track('page_view', {}, 'u1');
    await client.flush();
    expect(sent[0].events[0].src).toBe('checkout');
  });

  it('snapshots the payload when tracked', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, storage: null });
    const payload = { step: 1 };
    client.track('form_submit', payload, 'u1');
    payload.step = 2;
    await client.flush();
    expect(sent[0].events[0].payload).toEqual({ step: 1 });
  });

  it('keeps the token current when it is reassigned', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    client.token = 'fresh';
    client.track('page_view', {}, 'u1');
    await client.flush();
    expect(sent[0].headers.Authorization).toBe('Bearer fresh');
  });
});

describe('one request in flight, events leave only when acknowledged', () => {
  it('waits for the answer before the next request and keeps events queued until then', async () => {
    let answer!: (r: Response) => void;
    const pending = new Promise<Response>((resolve) => (answer = resolve));
    const { fetch, sent } = fakeFetch(pending);
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 3);
    const first = client.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    trackMany(client, 2);
    const second = client.flush();
    await vi.advanceTimersByTimeAsync(10);
    expect(sent).toHaveLength(1);
    expect(client.stats().queued).toBe(5);
    answer(reply(200, { ingested: 3, duplicates: 0 }));
    await Promise.all([first, second]);
    expect(sent).toHaveLength(2);
    expect(sent[1].events.map((e) => e.payload.i)).toEqual([0, 1]);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 5 });
  });

  it('sends events tracked while a flush that found the queue empty is finishing', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    const first = client.flush();
    client.track('page_view', {}, 'u1');
    const second = client.flush();
    await Promise.all([first, second]);
    expect(sent).toHaveLength(1);
    expect(client.stats().queued).toBe(0);
  });

  it('counts duplicates the server reports', async () => {
    const { fetch } = fakeFetch(reply(200, { ingested: 1, duplicates: 2 }));
    const client = makeClient({ fetch });
    trackMany(client, 3);
    await client.flush();
    expect(client.stats()).toMatchObject({ sent: 3, duplicates: 2 });
  });
});
