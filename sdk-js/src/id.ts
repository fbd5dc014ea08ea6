/** Make a unique event id: `crypto.randomUUID()` where available, else a random v4-shaped UUID. */
export function uuid(): string {
  const c = typeof crypto === 'undefined' ? undefined : crypto;
  if (c && c.randomUUID) return c.randomUUID();
  return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (ch) => {
    const n = +ch;
    const r = c && c.getRandomValues ? c.getRandomValues(new Uint8Array(1))[0] : (Math.random() * 256) | 0;
    return (n ^ (r & (15 >> (n / 4)))).toString(16);
  });
}
