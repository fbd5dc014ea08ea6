/**
 * Call `fn` when the page is hidden or left (`visibilitychange` to hidden, `pagehide`): the last
 * moments a page reliably runs code, unlike `beforeunload`. Returns a function that stops listening;
 * outside a browser it does nothing.
 */
export function onPageHide(fn: () => void): () => void {
  if (typeof window === 'undefined' || typeof document === 'undefined') return () => {};
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') fn();
  };
  window.addEventListener('pagehide', fn);
  document.addEventListener('visibilitychange', onVisibility);
  return () => {
    window.removeEventListener('pagehide', fn);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
