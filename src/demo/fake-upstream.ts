/**
 * A small REST server speaking the executions API contract
 * (GET /v1/executions/{id}, Bearer auth, the documented envelope). It backs the
 * demo, the tests and the benchmark, and can inject the faults a real upstream
 * shows: error statuses, bodies that break the contract, latency and hangs.
 *
 * Bodies are serialized once per stored execution so that the fake upstream is
 * never the bottleneck of a benchmark.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import type { UpstreamEvent } from '../upstream/envelope.js';
import { DEMO_ORGANIZATION, DEMO_TOKEN, type StoredExecution } from './demo-data.js';

export type Fault =
  /** Answer with this status and an error envelope (or `body`, when given). */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Answer 200 with this raw body; a header given as a list is sent as that many lines. */
  | { kind: 'body'; body: string | Buffer; headers?: Record<string, string | string[]> }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Close the connection without an answer. */
  | { kind: 'reset' }
  /** With probability `rate` (0–1) answer this status and an error envelope; otherwise answer normally. */
  | { kind: 'flaky'; rate: number; status: number }
  /** Answer normally, `ms` milliseconds later (on top of `latencyMs`). */
  | { kind: 'slow'; ms: number };

export interface RecordedRequest {
  method: string;
  /** The raw request target, exactly as the gateway sent it. */
  path: string;
  headers: IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface FakeUpstreamOptions {
  executions?: StoredExecution[];
  /** Bearer tokens and the organization each can see. */
  tokens?: Record<string, string>;
  /**
   * Read `Authorization` as RFC 9110 §11.1 and RFC 6750 §2.1 say: the scheme in any case, any run of
   * spaces before the token (`bearer x`, `Bearer   x`), as many APIs do. Default: exactly `Bearer <token>`,
   * as upstream documents it.
   */
  anySchemeSpelling?: boolean;
  /** Added to every answer, in milliseconds. */
  latencyMs?: number;
  port?: number;
  /**
   * Keep every request in `requests` (default true: tests and benchmarks assert on them). The demo
   * that `npm start` serves turns it off: about 700 bytes per request kept for the life of the
   * process (27.5 MB per 40,000), which a dashboard polling it for a day would never give back.
   */
  recordRequests?: boolean;
}

interface Stored {
  record: StoredExecution;
  /** `data` of the envelope, serialized once. */
  dataJson: string;
}

const PATH = /^\/v1\/executions\/([^/?#]*)$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  latencyMs: number;
  /** Compress answers with this encoding when the request accepts it. */
  contentEncoding: 'gzip' | 'br' | undefined;
  inFlight = 0;
  maxInFlight = 0;

  readonly #server: Server;
  readonly #store = new Map<string, Stored>();
  readonly #faults = new Map<string, { fault: Fault; remaining: number }>();
  readonly #tokens: Map<string, string>;
  readonly #anySchemeSpelling: boolean;
  readonly #hanging = new Set<ServerResponse>();
  #sequence = 0;

  private constructor(options: FakeUpstreamOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.contentEncoding = undefined;
    this.#tokens = new Map(Object.entries(options.tokens ?? { [DEMO_TOKEN]: DEMO_ORGANIZATION }));
    this.#anySchemeSpelling = options.anySchemeSpelling ?? false;
    for (const record of options.executions ?? []) this.put(record);
    const keepRequests = options.recordRequests ?? true;
    this.#server = createServer((request, response) => {
      if (keepRequests) this.requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, at: performance.now() });
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      response.on('close', () => {
        this.inFlight--;
        this.#hanging.delete(response);
      });
      const answer = () => this.#answer(request.method ?? '', request.url ?? '', request.headers, response);
      if (this.latencyMs > 0) setTimeout(answer, this.latencyMs);
      else answer();
    });
    this.#server.keepAliveTimeout = 60_000;
  }

  static async start(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
    const upstream = new FakeUpstream(options);
    await new Promise<void>((resolve) => upstream.#server.listen(options.port ?? 0, '127.0.0.1', resolve));
    return upstream;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Adds or replaces an execution. */
  put(record: StoredExecution): void {
    this.#store.set(record.execution.id, {
      record,
      dataJson: JSON.stringify({ events: record.events, execution: record.execution, message: 'execution retrieved' }),
    });
  }

  /** Appends events to a stored execution, as upstream does while a workflow runs. */
  appendEvents(id: string, events: UpstreamEvent[]): void {
    const stored = this.#store.get(id);
    if (!stored) throw new Error(`no execution ${id}`);
    this.put({ execution: stored.record.execution, events: [...stored.record.events, ...events] });
  }

  get(id: string): StoredExecution | undefined {
    return this.#store.get(id)?.record;
  }

  /** Injects a fault for an id, for every request or only the next `times` ones. */
  setFault(id: string, fault: Fault | undefined, times = Number.POSITIVE_INFINITY): void {
    if (fault) this.#faults.set(id, { fault, remaining: times });
    else this.#faults.delete(id);
  }

  /** Requests whose path named this execution id. */
  requestsFor(id: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === `/v1/executions/${id}`);
  }

  /** Forgets recorded requests and faults; keeps the data. */
  reset(): void {
    this.requests.length = 0;
    this.#faults.clear();
    this.maxInFlight = this.inFlight;
    this.latencyMs = 0;
    this.contentEncoding = undefined;
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #answer(method: string, url: string, headers: IncomingHttpHeaders, response: ServerResponse): void {
    const requestId = `up-${++this.#sequence}`;
    const encoding = this.contentEncoding && headers['accept-encoding']?.includes(this.contentEncoding) ? this.contentEncoding : undefined;
    const send = (status: number, content: string | Buffer, extra: Record<string, string | string[]> = {}) => {
      // Raw bytes are sent as given; text is compressed when the fake is asked to.
      const body = Buffer.isBuffer(content)
        ? content
        : encoding === 'gzip'
          ? gzipSync(content)
          : encoding === 'br'
            ? brotliCompressSync(content, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } })
            : Buffer.from(content);
      response.writeHead(status, {
        'content-type': 'application/json',
        'content-length': body.length,
        'x-request-id': requestId,
        ...(encoding && !Buffer.isBuffer(content) ? { 'content-encoding': encoding } : {}),
        ...extra,
      });
      response.end(body);
    };
    const error = (status: number, message: string, extra?: Record<string, string>) =>
      send(status, JSON.stringify({ code: status, message, requestId }), extra);

    const match = PATH.exec(url);
    if (!match) return error(404, 'route not found');
    if (method !== 'GET') return error(405, 'method not allowed', { allow: 'GET' });

    const id = decodeURIComponent(match[1]!);
    const answerStored = () => {
      const organization = this.#tokens.get(bearerToken(headers.authorization, this.#anySchemeSpelling) ?? '');
      if (!organization) return error(401, 'unauthorized');
      if (!ID.test(id)) return error(400, 'invalid execution id');
      const stored = this.#store.get(id);
      // Executions of other organizations are reported as not found, as upstream does.
      if (!stored || stored.record.execution.organizationId !== organization) return error(404, 'execution not found');
      send(200, `{"code":200,"data":${stored.dataJson},"message":"success","requestId":"${requestId}"}`);
    };
    const injected = this.#faults.get(id);
    if (injected && injected.remaining-- <= 0) this.#faults.delete(id);
    const fault = this.#faults.has(id) ? injected?.fault : undefined;
    if (fault) {
      switch (fault.kind) {
        case 'hang':
          this.#hanging.add(response);
          return;
        case 'reset':
          response.socket?.destroy();
          return;
        case 'body':
          return send(200, fault.body, fault.headers);
        case 'status':
          if (fault.body !== undefined) return send(fault.status, fault.body, fault.headers);
          return error(fault.status, `injected ${fault.status}`, fault.headers);
        case 'flaky':
          if (Math.random() < fault.rate) return error(fault.status, `injected ${fault.status}`);
          break;
        case 'slow': {
          const timer = setTimeout(() => {
            // The gateway may have given up (timeout, cancellation) while we waited.
            if (!response.destroyed && !response.writableEnded) answerStored();
          }, fault.ms);
          response.once('close', () => clearTimeout(timer));
          return;
        }
      }
    }
    answerStored();
  }
}

function bearerToken(header: string | undefined, anySchemeSpelling: boolean): string | undefined {
  const match = (anySchemeSpelling ? /^bearer +(.+)$/i : /^Bearer (.+)$/).exec(header ?? '');
  return match?.[1];
}
