import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeFetch, handlerFetch, makeClient, reply, trackMany } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** The server's 422 body naming bad events by their index in the sent array. */
function unprocessable(indices: number[]) {
  const json = Object.fromEntries(indices.map((i) => [String(i), { type: ['Must be one of: page_view.'] }]));
  return reply(422, { code: 422, status: 'Unprocessable Entity', message: 'bad', errors: { json } });
}

describe('422: drop only the events the server names', () => {
  it('removes the named events and resends the rest', async () => {
    const { fetch, sent } = fakeFetch(unprocessable([1, 3]));
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 5);
    await client.flush();
    expect(sent).toHaveLength(2);
    expect(sent[1].events.map((e) => e.payload.i)).toEqual([0, 2, 4]);
    expect(sent[1].events.map((e) => e.id)).toEqual([0, 2, 4].map((i) => sent[0].events[i].id));
    expect(client.stats()).toMatchObject({ queued: 0, sent: 3, dropped: 2 });
  });

  it('drops the whole batch when a 422 names no event, so it cannot loop', async () => {
    const { fetch, sent } = fakeFetch(reply(422, { code: 422, errors: { json: { _schema: ['Invalid input type.'] } } }));
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 2);
    await client.flush();
    expect(sent).toHaveLength(1);
    expect(client.stats()).toMatchObject({ queued: 0, dropped: 2 });
  });

  it('ignores indices outside the batch', async () => {
    const { fetch, sent } = fakeFetch(unprocessable([0, 9]));
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 2);
    await client.flush();
    expect(sent[1].events.map((e) => e.payload.i)).toEqual([1]);
    expect(client.stats()).toMatchObject({ sent: 1, dropped: 1 });
  });
});

describe('413: split the batch in halves', () => {
  const tooLarge = (message = 'batch too large') => reply(413, { code: 413, status: 'Payload Too Large', message });

  it('resends in halves until the server accepts, then goes on at that size', async () => {
    const { fetch, sent } = handlerFetch((s) => (s.events.length > 2 ? tooLarge() : undefined));
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 8);
    await client.flush();
    expect(sent.map((s) => s.events.length)).toEqual([8, 4, 2, 2, 2, 2]);
    expect(sent.slice(2).flatMap((s) => s.events.map((e) => e.payload.i))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 8, dropped: 0 });
  });

  it('splits on "request body too large" as well', async () => {
    const { fetch, sent } = fakeFetch(tooLarge('request body too large'));
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 3);
    await client.flush();
    expect(sent.map((s) => s.events.length)).toEqual([3, 2, 1]);
  });

  it('drops a single event that is still too large, and sends the others', async () => {
    const { fetch, sent } = handlerFetch((s) => (s.events.some((e) => e.payload.big) ? tooLarge() : undefined));
    const client = makeClient({ fetch, flushAt: 100 });
    client.track('page_view', { i: 0 }, 'u1');
    client.track('page_view', { i: 1, big: true }, 'u1');
    client.track('page_view', { i: 2 }, 'u1');
    await client.flush();
    expect(sent.map((s) => s.events.map((e) => e.payload.i))).toEqual([[0, 1, 2], [0, 1], [0], [1], [2]]);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 2, dropped: 1 });
  });
});

describe('401: ask getToken once for a fresh token', () => {
  it('retries once with the fresh token', async () => {
    const { fetch, sent } = handlerFetch((s) => (s.headers.Authorization === 'Bearer new' ? undefined : reply(401)));
    const getToken = vi.fn(async () => 'new');
    const client = makeClient({ fetch, getToken }, 'expired');
    trackMany(client, 2);
    await client.flush();
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(sent.map((s) => s.headers.Authorization)).toEqual(['Bearer expired', 'Bearer new']);
    expect(client.token).toBe('new');
    expect(client.stats()).toMatchObject({ queued: 0, sent: 2 });
  });

  it('keeps the events and stops when the fresh token is refused too', async () => {
    const { fetch, sent } = handlerFetch(() => reply(401));
    const getToken = vi.fn(() => 'still-bad');
    const client = makeClient({ fetch, getToken, flushInterval: 0 });
    trackMany(client, 2);
    await client.flush();
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(sent).toHaveLength(2);
    expect(client.stats()).toMatchObject({ queued: 2, dropped: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(2);
  });

  it('keeps the events and stops when there is no getToken', async () => {
    const { fetch, sent } = fakeFetch(reply(401));
    const client = makeClient({ fetch });
    trackMany(client, 1);
    await client.flush();
    expect(sent).toHaveLength(1);
    expect(client.stats()).toMatchObject({ queued: 1, dropped: 0 });
  });

  it('stops when getToken fails or gives nothing', async () => {
    for (const getToken of [() => Promise.reject(new Error('offline')), () => null]) {
      const { fetch, sent } = fakeFetch(reply(401));
      const client = makeClient({ fetch, getToken });
      trackMany(client, 1);
      await client.flush();
      expect(sent).toHaveLength(1);
      expect(client.stats().queued).toBe(1);
    }
  });

  it('asks getToken before sending when no token was given', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, getToken: () => 'first' }, null);
    trackMany(client, 1);
    await client.flush();
    expect(sent.map((s) => s.headers.Authorization)).toEqual(['Bearer first']);
  });

  it('sends nothing without a token or getToken', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch }, null);
    trackMany(client, 1);
    await client.flush();
    expect(sent).toHaveLength(0);
    expect(client.stats().queued).toBe(1);
  });

  it('resends on the next flush, e.g. after the app assigned a new token', async () => {
    const { fetch, sent } = handlerFetch((s) => (s.headers.Authorization === 'Bearer ok' ? undefined : reply(401)));
    const client = makeClient({ fetch }, 'bad');
    trackMany(client, 1);
    await client.flush();
    client.token = 'ok';
    await client.flush();
    expect(sent).toHaveLength(2);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 1 });
  });
});
