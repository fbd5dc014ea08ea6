import { AnalyticsClient } from '@analytics-service/sdk';
import { act, render, renderHook } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { AnalyticsProvider, useAnalytics } from '../src/index.js';
import { countPageHideListeners, fakeFetch, isolated } from './helpers.js';

describe('AnalyticsProvider and useAnalytics()', () => {
  it('returns the same { track, identify, flush } on every render', () => {
    const { fetch } = fakeFetch();
    const wrapper = ({ children }: { children: ReactNode }) => (
      <AnalyticsProvider apiUrl="https://an.example" token="t" options={isolated(fetch)}>
        {children}
      </AnalyticsProvider>
    );
    const { result, rerender } = renderHook(() => useAnalytics(), { wrapper });
    const first = result.current;
    rerender();
    expect(result.current).toBe(first);
    expect(Object.keys(first).sort()).toEqual(['client', 'flush', 'identify', 'track']);
  });

  it('tracks, identifies and flushes through the provider client', async () => {
    const { fetch, sent, events } = fakeFetch();
    const wrapper = ({ children }: { children: ReactNode }) => (
      <AnalyticsProvider apiUrl="https://an.example" token="jwt" options={{ ...isolated(fetch), endpoint: '/api/e' }}>
        {children}
      </AnalyticsProvider>
    );
    const { result } = renderHook(() => useAnalytics(), { wrapper });
    result.current.identify('user-9');
    result.current.track('button_click', { button_id: 'save' });
    await act(() => result.current.flush());
    expect(sent[0].url).toBe('https://an.example/api/e');
    expect(sent[0].headers.Authorization).toBe('Bearer jwt');
    expect(events()).toMatchObject([{ type: 'button_click', user_id: 'user-9', payload: { button_id: 'save' } }]);
  });

  it('keeps the token current when the prop changes', async () => {
    const { fetch, sent } = fakeFetch();
    let api!: ReturnType<typeof useAnalytics>;
    function Probe() {
      api = useAnalytics();
      return null;
    }
    const ui = (token: string) => (
      <AnalyticsProvider apiUrl="https://an.example" token={token} options={isolated(fetch)}>
        <Probe />
      </AnalyticsProvider>
    );
    const { rerender } = render(ui('old'));
    rerender(ui('new'));
    api.track('page_view');
    await act(() => api.flush());
    expect(sent[0].headers.Authorization).toBe('Bearer new');
  });

  it('flushes when the page is hidden, with keepalive', async () => {
    const { fetch, sent } = fakeFetch();
    let api!: ReturnType<typeof useAnalytics>;
    function Probe() {
      api = useAnalytics();
      return null;
    }
    render(
      <AnalyticsProvider apiUrl="https://an.example" token="t" options={isolated(fetch)}>
        <Probe />
      </AnalyticsProvider>,
    );
    api.track('video_play', { video_id: 'v1' });
    expect(sent).toHaveLength(0);
    await act(async () => {
      window.dispatchEvent(new Event('pagehide'));
    });
    expect(sent).toHaveLength(1);
    expect(sent[0].init.keepalive).toBe(true);
  });

  it('flushes on unmount and then stops listening', async () => {
    const pageHideListeners = countPageHideListeners();
    const { fetch, sent } = fakeFetch();
    let api!: ReturnType<typeof useAnalytics>;
    function Probe() {
      api = useAnalytics();
      return null;
    }
    const { unmount } = render(
      <AnalyticsProvider apiUrl="https://an.example" token="t" options={isolated(fetch)}>
        <Probe />
      </AnalyticsProvider>,
    );
    api.track('page_view');
    await act(async () => unmount());
    expect(sent).toHaveLength(1);
    expect(pageHideListeners()).toBe(0);
  });

  it('shares a client made elsewhere', () => {
    const client = new AnalyticsClient('https://an.example', 't', { storage: null });
    const wrapper = ({ children }: { children: ReactNode }) => <AnalyticsProvider client={client}>{children}</AnalyticsProvider>;
    const { result } = renderHook(() => useAnalytics(), { wrapper });
    expect(result.current.client).toBe(client);
  });

  it('says what is missing when there is no provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useAnalytics())).toThrow(/AnalyticsProvider/);
  });
});
