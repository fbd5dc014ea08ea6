import { act, renderHook } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { useAnalytics } from '../src/index.js';
import { fakeFetch } from './helpers.js';

let n = 0;
/** A URL no other test used, so each test gets its own shared client. */
const freshUrl = () => `https://seed-${++n}.example`;

beforeEach(() => {
  localStorage.clear();
});

describe("the seed's useAnalytics(apiUrl, token)", () => {
  it('returns a working { track } without a provider', async () => {
    const { fetch, sent } = fakeFetch();
    vi.stubGlobal('fetch', fetch);
    const url = freshUrl();
    const { result } = renderHook(() => useAnalytics(url, 'jwt-token'));
    result.current.track('page_view', { page: '/dashboard' });
    await act(() => result.current.flush());
    expect(sent[0].url).toBe(`${url}/api/analytics/ingest`);
    expect(sent[0].headers.Authorization).toBe('Bearer jwt-token');
    expect(sent[0].events[0]).toMatchObject({ type: 'page_view', src: 'web_app', payload: { page: '/dashboard' } });
  });

  it('sends at the tenth event, as the seed did', async () => {
    const { fetch, sent } = fakeFetch();
    vi.stubGlobal('fetch', fetch);
    const { result } = renderHook(() => useAnalytics(freshUrl(), 't'));
    for (let i = 0; i < 10; i++) result.current.track('button_click', { i });
    await act(async () => {});
    expect(sent).toHaveLength(1);
    expect(sent[0].events).toHaveLength(10);
  });

  it('shares one client per URL between components and keeps its token current', async () => {
    const { fetch, sent } = fakeFetch();
    vi.stubGlobal('fetch', fetch);
    const url = freshUrl();
    const a = renderHook(({ token }) => useAnalytics(url, token), { initialProps: { token: 'one' } });
    const b = renderHook(() => useAnalytics(url, 'one'));
    const other = renderHook(() => useAnalytics(freshUrl(), 'one'));
    expect(a.result.current.client).toBe(b.result.current.client);
    expect(other.result.current.client).not.toBe(a.result.current.client);
    const first = a.result.current;
    a.rerender({ token: 'two' });
    expect(a.result.current).toBe(first);
    a.result.current.track('page_view');
    await act(() => a.result.current.flush());
    expect(sent[0].headers.Authorization).toBe('Bearer two');
  });

  it('flushes on page hide instead of beforeunload', async () => {
    const { fetch, sent } = fakeFetch();
    vi.stubGlobal('fetch', fetch);
    const { result } = renderHook(() => useAnalytics(freshUrl(), 't'));
    result.current.track('page_view');
    window.dispatchEvent(new Event('beforeunload'));
    await act(async () => {});
    expect(sent).toHaveLength(0);
    await act(async () => {
      window.dispatchEvent(new Event('pagehide'));
    });
    expect(sent).toHaveLength(1);
    expect(sent[0].init.keepalive).toBe(true);
  });
});
