import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoff, parseRetryAfter } from '../src/backoff.js';
import { KEEPALIVE_LIMIT, byteLength, fit } from '../src/fit.js';
import { uuid } from '../src/id.js';
import { judge } from '../src/verdict.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('backoff', () => {
  it('doubles from the base up to the cap', () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoff(a, 1000, 30_000))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });

  it('jitters within the upper half', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(backoff(3, 1000, 30_000)).toBe(4000);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['3', 3000],
    ['0', 0],
    ['-2', 0],
    ['1.5', 1500],
    [null, undefined],
    ['', undefined],
    ['soon', undefined],
  ])('reads %j as %j ms', (value, ms) => {
    expect(parseRetryAfter(value)).toBe(ms);
  });

  it('reads an HTTP date relative to now', () => {
    vi.useFakeTimers({ now: new Date('2024-01-01T00:00:00Z') });
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT')).toBe(10_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:10 GMT')).toBe(0);
    vi.useRealTimers();
  });
});

describe('judge: the ingest contract', () => {
  it.each([
    [200, 'ack'],
    [204, 'ack'],
    [0, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [401, 'auth'],
    [413, 'split'],
    [400, 'drop'],
    [403, 'drop'],
    [404, 'drop'],
    [415, 'drop'],
    [422, 'drop'],
  ])('answers %i with %s', (status, action) => {
    expect(judge({ status }, 4).action).toBe(action);
  });

  it('drops a single event on 413 rather than splitting it', () => {
    expect(judge({ status: 413 }, 1)).toEqual({ action: 'drop', indices: [0] });
  });

  it('drops the whole batch on other 4xx', () => {
    expect(judge({ status: 400 }, 3)).toEqual({ action: 'drop', indices: [0, 1, 2] });
  });

  it('names the 422 indices', () => {
    const data = { errors: { json: { '2': { ts: ['bad'] }, '0': { type: ['bad'] } } } };
    expect(judge({ status: 422, data }, 3)).toEqual({ action: 'drop', indices: [0, 2] });
  });

  it('passes Retry-After on and reads duplicates', () => {
    expect(judge({ status: 503, retryAfter: 2000 }, 1)).toEqual({ action: 'retry', delay: 2000 });
    expect(judge({ status: 200, data: { ingested: 1, duplicates: 3 } }, 4)).toEqual({ action: 'ack', duplicates: 3 });
  });
});

describe('fit', () => {
  it('counts UTF-8 bytes', () => {
    expect(byteLength('aé€😀')).toBe(1 + 2 + 3 + 4);
  });

  it('takes the longest prefix whose JSON array fits', () => {
    const items = ['a'.repeat(8), 'b'.repeat(8), 'c'.repeat(8)];
    const one = JSON.stringify(items.slice(0, 2)).length;
    expect(fit(items, one)).toBe(2);
    expect(fit(items, one - 1)).toBe(1);
    expect(fit(items, 1)).toBe(1);
    expect(fit(items)).toBe(3);
    expect(KEEPALIVE_LIMIT).toBeLessThanOrEqual(65536);
  });
});

describe('uuid', () => {
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('uses crypto.randomUUID when there is one', () => {
    vi.stubGlobal('crypto', { randomUUID: () => 'from-crypto' });
    expect(uuid()).toBe('from-crypto');
  });

  it('falls back to getRandomValues (insecure contexts have no randomUUID)', () => {
    vi.stubGlobal('crypto', { getRandomValues: (a: Uint8Array) => a.fill(255) });
    expect(uuid()).toBe('efffffff-efff-4fff-bfff-efffffffffff');
  });

  it('falls back to Math.random without crypto', () => {
    vi.stubGlobal('crypto', undefined);
    const ids = new Set(Array.from({ length: 500 }, uuid));
    expect(ids.size).toBe(500);
    for (const id of ids) expect(id).toMatch(v4);
  });
});
