import { act, render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { AnalyticsProvider, PageView, useAnalytics, usePageView } from '../src/index.js';
import { fakeFetch, isolated } from './helpers.js';

function setup(fetch: typeof globalThis.fetch, page: React.ReactNode) {
  let api!: ReturnType<typeof useAnalytics>;
  function Grab() {
    api = useAnalytics();
    return null;
  }
  const ui = (child: React.ReactNode) => (
    <AnalyticsProvider apiUrl="https://an.example" token="t" options={isolated(fetch)}>
      <Grab />
      {child}
    </AnalyticsProvider>
  );
  const view = render(ui(page));
  return { rerender: (child: React.ReactNode) => view.rerender(ui(child)), flush: () => act(() => api.flush()) };
}

describe('usePageView', () => {
  it('tracks a page_view when the path changes, not on every render, with the previous path as referrer', async () => {
    const { fetch, events } = fakeFetch();
    function Route({ path, tick }: { path: string; tick: number }) {
      usePageView(path, { tick });
      return null;
    }
    const app = setup(fetch, <Route path="/login" tick={0} />);
    app.rerender(<Route path="/login" tick={1} />);
    app.rerender(<Route path="/dashboard" tick={2} />);
    await app.flush();
    expect(events().map((e) => [e.type, e.payload])).toEqual([
      ['page_view', { page: '/login', tick: 0 }],
      ['page_view', { page: '/dashboard', referrer: '/login', tick: 2 }],
    ]);
  });

  it('defaults to location.pathname', async () => {
    const { fetch, events } = fakeFetch();
    window.history.pushState({}, '', '/courses/42');
    const app = setup(fetch, <PageView />);
    await app.flush();
    expect(events()[0].payload).toMatchObject({ page: '/courses/42' });
  });

  it('takes extra payload in <PageView>', async () => {
    const { fetch, events } = fakeFetch();
    const app = setup(fetch, <PageView path="/search" payload={{ session_id: 'sess-456' }} />);
    await app.flush();
    expect(events()[0].payload).toEqual({ page: '/search', session_id: 'sess-456' });
  });
});
