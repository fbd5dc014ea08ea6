/** Largest request body, in bytes, sent with `keepalive` (browsers refuse more than 64 KiB in flight). */
export const KEEPALIVE_LIMIT = 64000;

/** UTF-8 length of `text` in bytes. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** How many leading `items` fit in a JSON array of at most `limit` bytes (at least one). */
export function fit(items: unknown[], limit = KEEPALIVE_LIMIT): number {
  let size = 1;
  let n = 0;
  for (const item of items) {
    size += byteLength(JSON.stringify(item)) + 1;
    if (n && size > limit) break;
    n++;
  }
  return n;
}
