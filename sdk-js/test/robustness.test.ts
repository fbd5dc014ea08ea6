import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeFetch, makeClient, memoryStorage } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('track never throws', () => {
  it('drops and counts an event whose payload cannot be serialized', async () => {
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => client.track('page_view', circular, 'u1')).not.toThrow();
    expect(() => client.track('page_view', { n: BigInt(1) }, 'u1')).not.toThrow();
    client.track('page_view', { ok: true }, 'u1');
    await client.flush();
    expect(sent[0].events).toHaveLength(1);
    expect(client.stats()).toMatchObject({ dropped: 2, sent: 1 });
  });

  it('survives a storage whose every call throws', async () => {
    const storage = memoryStorage();
    storage.getItem = () => {
      throw new Error('broken');
    };
    storage.setItem = storage.getItem;
    const { fetch, sent } = fakeFetch();
    const client = makeClient({ fetch, storage });
    expect(() => client.track('page_view')).not.toThrow();
    await client.flush();
    expect(sent).toHaveLength(1);
  });

  it('survives a fetch that throws synchronously', async () => {
    const fetch = (() => {
      throw new Error('boom');
    }) as unknown as typeof globalThis.fetch;
    const client = makeClient({ fetch, maxRetries: 1 });
    expect(() => client.track('page_view')).not.toThrow();
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(2000);
    await expect(done).resolves.toBeUndefined();
    expect(client.stats()).toMatchObject({ queued: 1, retries: 1 });
  });
});

describe('debug log', () => {
  it('logs with console.debug only when switched on', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    const { fetch } = fakeFetch();
    const client = makeClient({ fetch });
    client.track('page_view');
    await client.flush();
    expect(debug).not.toHaveBeenCalled();
    client.debug = true;
    client.track('page_view');
    await client.flush();
    expect(debug).toHaveBeenCalledWith('[analytics]', 'track', expect.objectContaining({ type: 'page_view' }));
    expect(debug).toHaveBeenCalledWith('[analytics]', 200, { action: 'ack', duplicates: 0 });
  });

  it('takes the switch as an option and logs drops', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    const client = makeClient({ debug: true, maxQueueSize: 1 });
    client.track('page_view');
    client.track('page_view');
    expect(debug).toHaveBeenCalledWith('[analytics]', 'dropped', 1, 'queue full');
  });
});
