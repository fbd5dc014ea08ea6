/**
 * Delay before retry number `attempt` (0-based): `base * 2^attempt` capped at `cap`, with "equal
 * jitter" (a random point in its upper half) so that many clients do not retry in step.
 */
export function backoff(attempt: number, base: number, cap: number): number {
  const d = Math.min(cap, base * 2 ** attempt);
  return d / 2 + (Math.random() * d) / 2;
}

/** Read a `Retry-After` header (seconds or an HTTP date) as ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return ms >= 0 ? ms : ms < 0 ? 0 : undefined;
}
