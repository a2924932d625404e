/**
 * The benchmark's floor: the least a server can do to answer the same questions
 * as the gateway. A plain node:http server, one undici keep-alive Pool to
 * upstream, JSON.parse, pick the fields, JSON.stringify — no GraphQL, no
 * framework, no validation, no resilience. It answers with the very JSON the
 * gateway's GraphQL response would carry (`{"data": ...}`), so the driver can
 * check both give the same data, and the gap between them is the gateway's
 * overhead.
 *
 *   UPSTREAM_URL=http://127.0.0.1:8080 PORT=0 tsx bench/floor-proxy.ts
 * prints one line `{"url": "http://127.0.0.1:<port>"}` when listening.
 *
 * Routes (all GET, `Authorization` and `x-request-id` forwarded to upstream):
 *   /s1?id=X           execution { id status updatedAt }
 *   /s2?id=X           execution page: 15 fields + events(first: 20) with cursors
 *   /s3?ids=A,B,...    executions(ids) { id status isTerminal updatedAt }; distinct ids
 *                      fetched FLOOR_CONCURRENCY (20, like the gateway) at a time
 *   /s4?id=X&n=10      the same execution under n aliases a0..a(n-1): one upstream call
 *   /s5?id=X, /s7?id=X execution { id events(first: 20) { ... } }
 *   /s6?id=X           execution { id status isTerminal updatedAt finishedAt }
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstreamUrl = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8080');
const basePath = upstreamUrl.pathname.replace(/\/$/, '');
const pool = new Pool(upstreamUrl.origin, { connections: Number(process.env.FLOOR_CONNECTIONS ?? 64) });
const concurrency = Number(process.env.FLOOR_CONCURRENCY ?? 20);

type Json = Record<string, unknown>;
interface Execution extends Json {
  id: string;
  status: string;
}
interface Event extends Json {
  id: string;
  createdAt: string;
}
interface Loaded {
  execution: Execution;
  events: Event[];
}

class FloorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function load(id: string, authorization: string, requestId: string | undefined): Promise<Loaded> {
  const headers: Record<string, string> = { authorization, accept: 'application/json' };
  if (requestId) headers['x-request-id'] = requestId;
  const response = await pool.request({ method: 'GET', path: `${basePath}/v1/executions/${encodeURIComponent(id)}`, headers });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new FloorError(502, `upstream answered ${response.statusCode} for ${id}`);
  const envelope = JSON.parse(text) as { code: number; data: Loaded };
  if (envelope.code !== 200) throw new FloorError(502, `upstream envelope code ${envelope.code} for ${id}`);
  return envelope.data;
}

const STATUSES = new Set([
  'awaiting_payment',
  'payment_confirmed',
  'workflow_queued',
  'workflow_running',
  'workflow_waiting',
  'workflow_succeeded',
  'workflow_failed',
  'workflow_cancelled',
]);
const TERMINAL = new Set(['workflow_succeeded', 'workflow_failed', 'workflow_cancelled']);
const status = (raw: string) => (STATUSES.has(raw) ? raw.toUpperCase() : 'UNKNOWN');

/** The gateway's cursor format (base64url JSON + 10-char sha256 checksum), so pages compare equal. */
function cursor(executionId: string, eventId: string): string {
  const payload = Buffer.from(JSON.stringify([1, executionId, eventId])).toString('base64url');
  return `${payload}.${createHash('sha256').update(payload).digest('base64url').slice(0, 10)}`;
}

/** First `first` events, oldest first (stable by createdAt; upstream normally sends them sorted). */
function firstPage(executionId: string, events: Event[], first: number, pick: (event: Event) => Json) {
  let ordered = events;
  let previous = -Infinity;
  for (const event of events) {
    const time = Date.parse(event.createdAt);
    if (time < previous) {
      ordered = events
        .map((event, index) => ({ event, index, time: Date.parse(event.createdAt) }))
        .sort((a, b) => a.time - b.time || a.index - b.index)
        .map(({ event }) => event);
      break;
    }
    previous = time;
  }
  const page = ordered.slice(0, first);
  const edges = page.map((event) => ({ cursor: cursor(executionId, event.id), node: pick(event) }));
  return {
    totalCount: events.length,
    pageInfo: { hasNextPage: ordered.length > first, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null },
    edges,
  };
}

const s1 = (e: Execution) => ({ id: e.id, status: status(e.status), updatedAt: e.updatedAt });
const s3 = (e: Execution) => ({ id: e.id, status: status(e.status), isTerminal: TERMINAL.has(e.status), updatedAt: e.updatedAt });
const s6 = (e: Execution) => ({
  id: e.id,
  status: status(e.status),
  isTerminal: TERMINAL.has(e.status),
  updatedAt: e.updatedAt,
  finishedAt: e.finishedAt,
});
const s2 = ({ execution: e, events }: Loaded) => ({
  id: e.id,
  status: status(e.status),
  rawStatus: e.status,
  isTerminal: TERMINAL.has(e.status),
  statusReason: e.statusReason,
  paymentStatus: e.paymentStatus,
  orderId: e.orderId,
  externalRef: e.externalRef,
  runId: e.runId,
  workflowId: e.workflowId,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
  startedAt: e.startedAt,
  finishedAt: e.finishedAt,
  requestPayload: e.requestPayload,
  events: firstPage(e.id, events, 20, (v) => ({
    id: v.id,
    createdAt: v.createdAt,
    eventType: v.eventType,
    level: v.level,
    title: v.title,
    message: v.message,
    nodeId: v.nodeId,
  })),
});
const eventsPage = ({ execution: e, events }: Loaded) => ({
  id: e.id,
  events: firstPage(e.id, events, 20, (v) => ({ id: v.id, createdAt: v.createdAt, level: v.level, eventType: v.eventType, message: v.message })),
});

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://floor');
  const authorization = request.headers.authorization;
  const requestIdHeader = request.headers['x-request-id'];
  const requestId = typeof requestIdHeader === 'string' ? requestIdHeader : undefined;
  const send = (statusCode: number, value: unknown) => {
    const body = JSON.stringify(value);
    const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) };
    if (requestId) headers['x-request-id'] = requestId;
    response.writeHead(statusCode, headers);
    response.end(body);
  };
  if (!authorization) return send(401, { errors: [{ message: 'Authorization required' }] });
  const id = url.searchParams.get('id') ?? '';
  const one = () => load(id, authorization, requestId);
  try {
    switch (url.pathname) {
      case '/s1':
        return send(200, { data: { execution: s1((await one()).execution) } });
      case '/s2':
        return send(200, { data: { execution: s2(await one()) } });
      case '/s4': {
        const execution = s1((await one()).execution);
        const n = Number(url.searchParams.get('n') ?? 10);
        const data: Json = {};
        for (let i = 0; i < n; i++) data[`a${i}`] = execution;
        return send(200, { data });
      }
      case '/s5':
      case '/s7':
        return send(200, { data: { execution: eventsPage(await one()) } });
      case '/s6':
        return send(200, { data: { execution: s6((await one()).execution) } });
      case '/s3': {
        const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
        const distinct = [...new Set(ids)];
        const results = new Map<string, Json | null>();
        const errors: Json[] = [];
        let next = 0;
        const worker = async () => {
          while (next < distinct.length) {
            const each = distinct[next++]!;
            try {
              results.set(each, s3((await load(each, authorization, requestId)).execution));
            } catch (error) {
              results.set(each, null);
              errors.push({ message: (error as Error).message, path: ['executions', ids.indexOf(each)] });
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, distinct.length) }, worker));
        const executions = ids.map((each) => results.get(each) ?? null);
        return send(200, errors.length ? { errors, data: { executions } } : { data: { executions } });
      }
      default:
        return send(404, { errors: [{ message: `no route ${url.pathname}` }] });
    }
  } catch (error) {
    const statusCode = error instanceof FloorError ? error.status : 500;
    send(statusCode, { errors: [{ message: (error as Error).message }], data: null });
  }
}

const server = createServer((request, response) => void handle(request, response));
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close().then(() => process.exit(0));
});
