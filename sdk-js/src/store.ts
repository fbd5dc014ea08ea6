import type { KeyValueStorage } from './types.js';

/** `localStorage` when this runtime has a usable one (not in Node, private modes or sandboxed frames). */
export function defaultStorage(): KeyValueStorage | undefined {
  try {
    const s = globalThis.localStorage;
    s.setItem('analytics:probe', '1');
    s.removeItem('analytics:probe');
    return s;
  } catch {
    return undefined;
  }
}

/**
 * Key-value store over a storage that may be absent or full: a key whose write fails is kept in
 * memory (and its stale stored copy removed) until a later write succeeds.
 */
export class Store {
  private readonly memory = new Map<string, string>();

  constructor(private readonly storage?: KeyValueStorage) {}

  /** Read `key`, or null. */
  get(key: string): string | null {
    if (!this.memory.has(key)) {
      try {
        return this.storage!.getItem(key);
      } catch {
        // No storage or it refused: memory answers.
      }
    }
    return this.memory.get(key) ?? null;
  }

  /** Write `key`; returns false when the value went to memory only. */
  set(key: string, value: string): boolean {
    try {
      this.storage!.setItem(key, value);
      this.memory.delete(key);
      return true;
    } catch {
      this.memory.set(key, value);
      try {
        this.storage!.removeItem(key);
      } catch {
        // Nothing stored to clean up.
      }
      return false;
    }
  }
}
