import { AnalyticsClient } from '@analytics-service/sdk';
import { act, render, renderHook } from '@testing-library/react';
import { StrictMode, useEffect } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { AnalyticsProvider, PageView, useAnalytics, usePageView } from '../src/index.js';
import { countPageHideListeners, fakeFetch, isolated } from './helpers.js';

describe('React StrictMode', () => {
  it('starts one client, and a page view is tracked once', async () => {
    const pageHideListeners = countPageHideListeners();
    const { fetch, events } = fakeFetch();
    let api!: ReturnType<typeof useAnalytics>;
    function Page() {
      api = useAnalytics();
      usePageView('/dashboard');
      return null;
    }
    render(
      <StrictMode>
        <AnalyticsProvider apiUrl="https://an.example" token="t" options={isolated(fetch)}>
          <Page />
        </AnalyticsProvider>
      </StrictMode>,
    );
    await act(() => api.flush());
    expect(events().map((e) => e.type)).toEqual(['page_view']);
    expect(pageHideListeners()).toBe(1);
  });

  it('hands every consumer the same client across double renders and remounts', () => {
    const { fetch } = fakeFetch();
    const clients = new Set<AnalyticsClient>();
    const apis = new Set<ReturnType<typeof useAnalytics>>();
    function Consumer() {
      const api = useAnalytics();
      clients.add(api.client);
      // Only what React commits counts: React 18 throws the first of the double render away.
      useEffect(() => {
        apis.add(api);
      });
      return null;
    }
    const ui = (token: string) => (
      <StrictMode>
        <AnalyticsProvider apiUrl="https://an.example" token={token} options={isolated(fetch)}>
          <Consumer />
        </AnalyticsProvider>
      </StrictMode>
    );
    const { rerender } = render(ui('a'));
    rerender(ui('b'));
    expect(clients.size).toBe(1);
    expect(apis.size).toBe(1);
  });

  it('tracks <PageView> once per path in StrictMode', async () => {
    const { fetch, events } = fakeFetch();
    let api!: ReturnType<typeof useAnalytics>;
    function Grab() {
      api = useAnalytics();
      return null;
    }
    const ui = (path: string) => (
      <StrictMode>
        <AnalyticsProvider apiUrl="https://an.example" token="t" options={isolated(fetch)}>
          <Grab />
          <PageView path={path} />
        </AnalyticsProvider>
      </StrictMode>
    );
    const { rerender } = render(ui('/a'));
    rerender(ui('/a'));
    rerender(ui('/b'));
    await act(() => api.flush());
    expect(events().map((e) => e.payload)).toEqual([{ page: '/a' }, { page: '/b', referrer: '/a' }]);
  });

  it('shares one client per URL in the seed form', async () => {
    const { fetch, sent } = fakeFetch();
    vi.stubGlobal('fetch', fetch);
    const { result } = renderHook(() => [useAnalytics('https://strict.example', 't'), useAnalytics('https://strict.example', 't')], {
      wrapper: StrictMode,
    });
    expect(result.current[0].client).toBe(result.current[1].client);
    result.current[0].track('page_view', {}, 'u1');
    result.current[1].track('page_view', {}, 'u1');
    await act(() => result.current[0].flush());
    expect(sent).toHaveLength(1);
    expect(sent[0].events).toHaveLength(2);
  });
});
