import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the contract server was asked and what it stored. */
export interface ContractServer {
  url: string;
  stored: Map<string, Record<string, unknown>>;
  requests: Array<{ path: string; status: number; sentAt?: string; auth?: string; size: number }>;
  close(): Promise<void>;
}

export interface ContractOptions {
  token?: string;
  maxBatchSize?: number;
  /** Answer this many requests with 503 and `Retry-After: 1` first. */
  unavailable?: number;
  /** Store the first batch, then cut the connection before answering (a lost response). */
  loseFirstResponse?: boolean;
}

const FIELDS = new Set(['id', 'ts', 'user_id', 'type', 'src', 'payload']);
const TYPES = new Set(['page_view', 'button_click', 'form_submit', 'video_play', 'course_complete', 'search_query', 'error_occurred']);

/** Field errors of one event, as the real service words them (roughly). */
function problems(e: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const k of Object.keys(e)) if (!FIELDS.has(k)) out[k] = ['Unknown field.'];
  if (typeof e.ts !== 'string' || isNaN(Date.parse(e.ts))) out.ts = ['Not a valid datetime.'];
  if (typeof e.user_id !== 'string' || !e.user_id || e.user_id.length > 255) out.user_id = ['Length must be between 1 and 255.'];
  if (!TYPES.has(e.type as string)) out.type = ['Must be one of the allowed types.'];
  if (e.id !== undefined && (typeof e.id !== 'string' || e.id.length > 128)) out.id = ['Longer than maximum length 128.'];
  if (e.src !== undefined && (typeof e.src !== 'string' || e.src.length > 64)) out.src = ['Longer than maximum length 64.'];
  if (e.payload !== undefined && (typeof e.payload !== 'object' || e.payload === null || Array.isArray(e.payload))) {
    out.payload = ['Not a valid mapping type.'];
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

/** A node:http server on 127.0.0.1 (random port) that follows the POST /ingest contract. */
export async function startContractServer(options: ContractOptions = {}): Promise<ContractServer> {
  const { token = 'good-token', maxBatchSize = 1000 } = options;
  let unavailable = options.unavailable ?? 0;
  let loseNext = !!options.loseFirstResponse;
  const stored = new Map<string, Record<string, unknown>>();
  const requests: ContractServer['requests'] = [];

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
      requests.push({
        path: req.url ?? '',
        status,
        sentAt: req.headers['x-sent-at'] as string | undefined,
        auth: req.headers.authorization,
        size: Buffer.byteLength(body),
      });
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(data));
    };
    const error = (code: number, status: string, message: string, errors?: unknown) =>
      send(code, { code, status, message, ...(errors ? { errors } : {}) }, code === 503 ? { 'Retry-After': '1' } : {});

    if (req.method !== 'POST' || !['/api/analytics/ingest', '/api/e'].includes(req.url ?? '')) {
      return error(404, 'Not Found', 'not found');
    }
    if (req.headers.authorization !== `Bearer ${token}`) return error(401, 'Unauthorized', 'invalid token');
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      return error(415, 'Unsupported Media Type', 'expected JSON');
    }
    if (unavailable > 0) {
      unavailable--;
      return error(503, 'Service Unavailable', 'database unreachable');
    }
    let events: Array<Record<string, unknown>>;
    try {
      events = JSON.parse(body);
    } catch {
      return error(400, 'Bad Request', 'invalid JSON');
    }
    if (!Array.isArray(events)) events = [events];
    if (events.length > maxBatchSize) return error(413, 'Payload Too Large', 'batch too large');
    const errors: Record<string, Record<string, string[]>> = {};
    events.forEach((e, i) => {
      const p = problems(e);
      if (Object.keys(p).length) errors[String(i)] = p;
    });
    if (Object.keys(errors).length) return error(422, 'Unprocessable Entity', 'invalid events', { json: errors });
    let ingested = 0;
    for (const e of events) {
      if (stored.has(e.id as string)) continue;
      stored.set(e.id as string, e);
      ingested++;
    }
    if (loseNext) {
      loseNext = false;
      requests.push({ path: req.url ?? '', status: 0, size: Buffer.byteLength(body) });
      return req.socket.destroy();
    }
    send(200, { ingested, duplicates: events.length - ingested });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stored,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
