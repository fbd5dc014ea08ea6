// @vitest-environment node
import { renderToString } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { AnalyticsProvider, PageView, useAnalytics } from '../src/index.js';

describe('server-side rendering', () => {
  it('renders the provider, hooks and <PageView> without a window and sends nothing', () => {
    expect(typeof window).toBe('undefined');
    const fetch = vi.fn();
    function Page() {
      const { track } = useAnalytics();
      const seed = useAnalytics('https://an.example', 'user-token');
      return (
        <button type="button" onClick={() => (track('button_click'), seed.track('button_click'))}>
          save
        </button>
      );
    }
    const html = renderToString(
      <AnalyticsProvider apiUrl="https://an.example" token="t" options={{ fetch }}>
        <PageView path="/" />
        <Page />
      </AnalyticsProvider>,
    );
    expect(html).toContain('save');
    expect(fetch).not.toHaveBeenCalled();
  });
});
