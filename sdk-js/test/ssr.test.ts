// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';

const BROWSER_GLOBALS = ['window', 'document', 'localStorage', 'navigator', 'location'];

afterEach(() => {
  for (const name of BROWSER_GLOBALS) delete (globalThis as Record<string, unknown>)[name];
});

describe('server-side rendering and Node services', () => {
  it('imports without touching any browser global', async () => {
    expect(typeof window).toBe('undefined');
    const touched: string[] = [];
    for (const name of BROWSER_GLOBALS) {
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get: () => {
          touched.push(name);
          return undefined;
        },
      });
    }
    vi.resetModules();
    const sdk = await import('../src/index.js');
    expect(typeof sdk.AnalyticsClient).toBe('function');
    expect(touched).toEqual([]);
  });

  it('makes a client, tracks and flushes in Node with no window or localStorage', async () => {
    const { AnalyticsClient } = await import('../src/index.js');
    const bodies: string[] = [];
    const fetch = (async (_url: string, init: RequestInit) => {
      bodies.push(String(init.body));
      return new Response(JSON.stringify({ ingested: 1, duplicates: 0 }), { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const client = new AnalyticsClient('http://localhost:5000', 'tok', { fetch });
    client.track('course_complete', { course_id: 'course-123' });
    await client.flush();
    expect(JSON.parse(bodies[0])[0]).toMatchObject({ type: 'course_complete', src: 'web_app' });
    expect(client.getCurrentUserId()).toBe(client.getCurrentUserId());
    await client.close();
  });
});
