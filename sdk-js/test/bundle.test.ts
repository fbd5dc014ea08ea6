// @vitest-environment node
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserBundle } from '../scripts/browser-build.mjs';

let code = '';
beforeAll(async () => {
  code = await buildBrowserBundle();
});

describe('the script-tag bundle', () => {
  it('stays under 4 KB gzipped', () => {
    expect(gzipSync(code, { level: 9 }).length).toBeLessThan(4096);
  });

  it('defines window.Analytics.AnalyticsClient when run as a classic script, and works', async () => {
    const requests: Array<{ url: string; init: RequestInit }> = [];
    const listeners: Record<string, () => void> = {};
    const sandbox: Record<string, unknown> = {
      fetch: async (url: string, init: RequestInit) => {
        requests.push({ url, init });
        return new Response('{"ingested":1,"duplicates":0}', { status: 200 });
      },
      addEventListener: (type: string, fn: () => void) => (listeners[type] = fn),
      removeEventListener: () => {},
      document: { visibilityState: 'visible', addEventListener: () => {}, removeEventListener: () => {} },
      setTimeout,
      clearTimeout,
      AbortController,
      TextEncoder,
      Response,
      console,
    };
    sandbox.window = sandbox;
    runInNewContext(code, sandbox);
    const { AnalyticsClient } = (sandbox.Analytics ?? {}) as { AnalyticsClient: new (...a: unknown[]) => any };
    expect(typeof AnalyticsClient).toBe('function');

    const client = new AnalyticsClient('https://an.example', 'tok', { endpoint: '/api/e' });
    client.track('page_view', { page: '/' });
    listeners.pagehide();
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe('https://an.example/api/e');
    expect(requests[0].init.keepalive).toBe(true);
  });
});
