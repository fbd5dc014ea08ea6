import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeFetch, makeClient, reply, trackMany } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function setVisibility(state: 'hidden' | 'visible') {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}

describe('flush on page hide', () => {
  it('sends on pagehide with keepalive, within the event handler itself', () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    trackMany(client, 2);
    window.dispatchEvent(new Event('pagehide'));
    expect(sent).toHaveLength(1);
    expect(sent[0].init.keepalive).toBe(true);
    expect(sent[0].events).toHaveLength(2);
  });

  it('sends when the page becomes hidden, not when it becomes visible', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    trackMany(client, 1);
    setVisibility('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(0);
    setVisibility('hidden');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    setVisibility('visible');
  });

  it('sends as many events as fit in 64 KB with keepalive; the rest stay queued until acknowledged', async () => {
    let answer!: (r: Response) => void;
    const { fetch, sent } = fakeFetch(new Promise<Response>((resolve) => (answer = resolve)));
    const client = makeClient({ fetch, flushAt: 1000 });
    trackMany(client, 40, { text: 'é'.repeat(2000) });
    window.dispatchEvent(new Event('pagehide'));
    window.dispatchEvent(new Event('pagehide'));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    const body = String(sent[0].init.body);
    const bytes = new TextEncoder().encode(body).length;
    expect(sent[0].init.keepalive).toBe(true);
    expect(bytes).toBeLessThanOrEqual(64000);
    expect(bytes).toBeGreaterThan(60000);
    expect(sent[0].events.length).toBeLessThan(40);
    expect(client.stats().queued).toBe(40);

    answer(reply(200, { ingested: sent[0].events.length, duplicates: 0 }));
    await client.flush();
    expect(client.stats().queued).toBe(0);
    expect(sent.every((s) => s.init.keepalive === true)).toBe(true);
  });

  it('sends a single event larger than 64 KB without keepalive', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    client.track('page_view', { text: 'x'.repeat(70_000) }, 'u1');
    await client.flush();
    expect(sent[0].init.keepalive).toBe(false);
  });

  it('stops listening after close(), which sends what is queued', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, flushAt: 100 });
    trackMany(client, 1);
    await client.close();
    expect(sent).toHaveLength(1);
    const before = sent.length;
    window.dispatchEvent(new Event('pagehide'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(before);
  });

  it('attaches listeners only once a client is used', () => {
    const add = vi.spyOn(window, 'addEventListener');
    const client = makeClient();
    expect(add).not.toHaveBeenCalled();
    trackMany(client, 2);
    expect(add.mock.calls.filter(([type]) => type === 'pagehide')).toHaveLength(1);
  });
});
