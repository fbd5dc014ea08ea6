import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeFetch, makeClient, reply, trackMany } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('retries', () => {
  it('backs off exponentially (1s, 2s, 4s, 8s…) on 5xx, capped at maxRetryDelay', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const { fetch, sent } = fakeFetch(...Array.from({ length: 6 }, () => reply(500)));
    const client = makeClient({ fetch, maxRetries: 6, maxRetryDelay: 10_000 });
    trackMany(client, 1);
    const start = Date.now();
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(40_000);
    await done;
    expect(sent.map((s) => s.at - start)).toEqual([0, 1000, 3000, 7000, 15000, 25000, 35000]);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 1, retries: 6 });
  });

  it('adds jitter: each delay lies in the upper half of its exponential step', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { fetch, sent } = fakeFetch(reply(503), reply(503));
    const client = makeClient({ fetch });
    trackMany(client, 1);
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(499);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(3);
    await done;
  });

  it('honours Retry-After on 429 and 503', async () => {
    const { fetch, sent } = fakeFetch(
      reply(429, { code: 429 }, { 'Retry-After': '7' }),
      reply(503, { code: 503 }, { 'Retry-After': '3' }),
    );
    const client = makeClient({ fetch });
    trackMany(client, 1);
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(6999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2999);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(sent).toHaveLength(3);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 1, retries: 2 });
  });

  it('reads Retry-After given as an HTTP date', async () => {
    vi.setSystemTime(new Date('2024-01-01T12:00:00Z'));
    const { fetch, sent } = fakeFetch(reply(503, undefined, { 'Retry-After': 'Mon, 01 Jan 2024 12:00:05 GMT' }));
    const client = makeClient({ fetch });
    trackMany(client, 1);
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(4999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(sent).toHaveLength(2);
  });

  it('retries network errors', async () => {
    const { fetch, sent } = fakeFetch(new TypeError('Failed to fetch'), new TypeError('Failed to fetch'));
    const client = makeClient({ fetch });
    trackMany(client, 2);
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    await done;
    expect(sent).toHaveLength(3);
    expect(sent[2].events.map((e) => e.id)).toEqual(sent[0].events.map((e) => e.id));
    expect(client.stats()).toMatchObject({ queued: 0, sent: 2, retries: 2 });
  });

  it('aborts a request that hangs past the timeout and retries it', async () => {
    const hanging = (s: { init: RequestInit }) =>
      new Promise<Response>((_, reject) => s.init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const { fetch, sent } = fakeFetch(hanging);
    const client = makeClient({ fetch, timeout: 2000 });
    trackMany(client, 1);
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    await done;
    expect(sent).toHaveLength(2);
    expect(client.stats().queued).toBe(0);
  });

  it('sets a fresh X-Sent-At on each attempt', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const { fetch, sent } = fakeFetch(reply(500));
    const client = makeClient({ fetch });
    trackMany(client, 1);
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    const [a, b] = sent.map((s) => Date.parse(s.headers['X-Sent-At']));
    expect(b - a).toBe(1000);
  });

  it('stops after maxRetries, keeps the events, and tries again on the next timer flush', async () => {
    const { fetch, sent } = fakeFetch(reply(503), reply(503), reply(503));
    const client = makeClient({ fetch, maxRetries: 2, flushInterval: 5000 });
    trackMany(client, 1);
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(3000);
    await done;
    expect(sent).toHaveLength(3);
    expect(client.stats()).toMatchObject({ queued: 1, dropped: 0 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toHaveLength(4);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 1 });
  });
});

describe('4xx other than 401, 413 and 422', () => {
  it.each([400, 403, 404, 415])('drops the batch on %i without retrying', async (status) => {
    const { fetch, sent } = fakeFetch(reply(status, { code: status }));
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 3);
    await client.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(1);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 3, retries: 0 });
  });

  it('goes on with the rest of the queue after dropping a batch', async () => {
    const { fetch, sent } = fakeFetch(reply(400));
    const client = makeClient({ fetch, maxBatchSize: 2, flushAt: 100 });
    trackMany(client, 3);
    await client.flush();
    expect(sent.map((s) => s.events.length)).toEqual([2, 1]);
    expect(client.stats()).toMatchObject({ sent: 1, dropped: 2 });
  });
});
