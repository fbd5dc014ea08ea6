// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { AnalyticsClient } from '../src/index.js';
import { startContractServer, type ContractServer } from './contract-server.js';

let server: ContractServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('against a real HTTP server that follows the ingest contract', () => {
  it('delivers through 503 + Retry-After, drops only the event a 422 names, and stores the rest', async () => {
    server = await startContractServer({ unavailable: 2 });
    const client = new AnalyticsClient(server.url, 'good-token', { storage: null, flushAt: 100 });
    client.track('page_view', { page: '/dashboard' }, 'user-123');
    client.track('not_a_type', {}, 'user-123');
    client.track('button_click', { button_id: 'save_profile' }, 'user-123');
    const started = Date.now();
    await client.flush();

    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, 422, 200]);
    expect([...server.stored.values()].map((e) => e.type)).toEqual(['page_view', 'button_click']);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 2, dropped: 1, retries: 2 });
    const sentAt = server.requests.map((r) => r.sentAt!);
    expect(sentAt.every((t) => !isNaN(Date.parse(t)))).toBe(true);
    expect(new Set(sentAt).size).toBe(4);
  }, 15_000);

  it('never double-counts when a response is lost and the batch is resent', async () => {
    server = await startContractServer({ loseFirstResponse: true });
    const client = new AnalyticsClient(server.url, 'good-token', { storage: null, retryDelay: 20 });
    client.track('page_view', {}, 'u1');
    client.track('page_view', {}, 'u2');
    await client.flush();
    expect(server.stored.size).toBe(2);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 2, duplicates: 2, retries: 1 });
  });

  it('splits a batch the server finds too large', async () => {
    server = await startContractServer({ maxBatchSize: 2 });
    const client = new AnalyticsClient(server.url, 'good-token', { storage: null, flushAt: 100 });
    for (let i = 0; i < 5; i++) client.track('page_view', { i }, 'u1');
    await client.flush();
    expect(server.stored.size).toBe(5);
    expect(server.requests.map((r) => r.status)).toEqual([413, 413, 200, 200, 200]);
  });

  it('gets a fresh token from getToken on 401', async () => {
    server = await startContractServer();
    const client = new AnalyticsClient(server.url, 'expired', { storage: null, getToken: async () => 'good-token' });
    client.track('page_view', {}, 'u1');
    await client.flush();
    expect(server.requests.map((r) => r.status)).toEqual([401, 200]);
    expect(server.stored.size).toBe(1);
  });

  it('sends to the neutral endpoint path', async () => {
    server = await startContractServer();
    const client = new AnalyticsClient(server.url, 'good-token', { storage: null, endpoint: '/api/e' });
    client.track('search_query', { q: 'flask' }, 'u1');
    await client.flush();
    expect(server.requests[0]).toMatchObject({ path: '/api/e', status: 200 });
  });
});
