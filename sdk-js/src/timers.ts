/** A handle from {@link later}. */
export type Timer = ReturnType<typeof setTimeout>;

/** Run `fn` after `ms`, without keeping a Node process alive for it. */
export function later(fn: () => void, ms: number): Timer {
  const t = setTimeout(fn, ms);
  (t as { unref?: () => void }).unref?.();
  return t;
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => later(resolve, ms));
}
