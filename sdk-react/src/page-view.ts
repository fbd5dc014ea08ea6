import type { Payload } from '@analytics-service/sdk';
import { usePageView } from './use-page-view.js';

/** Props of {@link PageView}. */
export interface PageViewProps {
  /** The page; default `location.pathname`. */
  path?: string | null;
  /** More properties of the `page_view` event. */
  payload?: Payload;
}

/** Render-nothing component form of {@link usePageView}, e.g. inside each route. */
export function PageView({ path, payload }: PageViewProps): null {
  usePageView(path, payload);
  return null;
}
