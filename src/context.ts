/**
 * The context made fresh for every GraphQL request: who is calling (their
 * Authorization header, forwarded as is), the request id used for tracing, and
 * loaders bound to that caller. Nothing here outlives the request.
 */
import { randomUUID } from 'node:crypto';
import { badUserInput } from './errors.js';
import type { UnknownStatusReporter } from './domain/execution-status.js';
import { createExecutionLoader, type ExecutionLoader } from './upstream/execution-loader.js';
import { RequestSignal, type ClientWatch } from './upstream/request-signal.js';
import type { Cancellation } from './upstream/cancellation.js';
import type { UpstreamCall } from './upstream/executions-client.js';
import { emptyStats, SharedExecutions, type UpstreamStats } from './upstream/shared-executions.js';

/** Distinct executions one GraphQL request may load (also the cap of `executions(ids)`). */
export const MAX_EXECUTIONS_PER_REQUEST = 100;
/** Events one GraphQL request may return across all its `events` pages. */
export const MAX_EVENTS_PER_REQUEST = 2_000;

export interface GatewayContext {
  requestId: string;
  loaders: { execution: ExecutionLoader };
  /** Releases the request's budget timer once its execution is done. */
  dispose(): void;
  /** What this request cost upstream; reported in `extensions.upstream`. */
  upstream: UpstreamStats;
  /** Counts events handed out by this request; throws past MAX_EVENTS_PER_REQUEST. */
  takeEvents(count: number): void;
}

export interface ContextDependencies {
  executions: SharedExecutions;
  concurrencyPerRequest: number;
  /** Upstream time one GraphQL request may spend in all, retries included. */
  requestBudgetMs: number;
  unknownStatuses: UnknownStatusReporter;
}

/** A client-sent request id is kept when it is a short printable token; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * What the gateway reads of an incoming request. Yoga hands it a fetch-API
 * Request; the direct path (src/server/direct-path.ts) a lighter view of node's
 * IncomingMessage with the same shape.
 */
export interface IncomingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** The same event as a plain callback, where the server offers one; it costs less than a signal. */
  onClientGone?(listener: () => void): () => void;
}

/** Subscribes to the client going away; returns the unsubscribe. */
function watchClient(request: IncomingRequest): ClientWatch {
  if (request.onClientGone) return (listener) => request.onClientGone!(listener);
  const { signal } = request;
  return (listener) => {
    if (signal.aborted) {
      listener();
      return () => {};
    }
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  };
}

const requestIds = new WeakMap<IncomingRequest, string>();

/** The request's tracing id, the same for the context, upstream calls and the response header. */
export function requestIdOf(request: IncomingRequest): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    const sent = request.headers.get('x-request-id');
    id = sent && REQUEST_ID.test(sent) ? sent : randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

/** Counts the events an operation hands out; throws past MAX_EVENTS_PER_REQUEST. */
function eventCounter(): GatewayContext['takeEvents'] {
  let eventsTaken = 0;
  return (count) => {
    eventsTaken += count;
    if (eventsTaken > MAX_EVENTS_PER_REQUEST) {
      throw badUserInput(`This request asks for more than ${MAX_EVENTS_PER_REQUEST} events across its \`events\` pages; page with cursors instead.`);
    }
  };
}

/**
 * The context for running a request's operation a second time (src/server/prepared-operations.ts):
 * the same caller, loaders, budget and upstream cost, so nothing is fetched twice,
 * and its own count of events, so the events are not counted twice.
 */
export function rerunContext(context: GatewayContext): GatewayContext {
  return { ...context, takeEvents: eventCounter() };
}

/** The caller as upstream calls see it; a class for the reason given on RequestSignal. */
class RequestCall implements UpstreamCall {
  constructor(
    readonly authorization: string,
    readonly requestId: string,
    private readonly budget: RequestSignal,
  ) {}

  get signal(): Cancellation {
    return this.budget.signal;
  }
}

export function createContext(request: IncomingRequest, deps: ContextDependencies): GatewayContext {
  const requestId = requestIdOf(request);
  const authorization = request.headers.get('authorization');
  // Upstream calls stop when the client goes away or the request's budget is spent.
  const budget = new RequestSignal(watchClient(request), deps.requestBudgetMs, 4 * MAX_EXECUTIONS_PER_REQUEST);
  const call: UpstreamCall | null = authorization?.trim() ? new RequestCall(authorization, requestId, budget) : null;
  const upstream = emptyStats();
  return {
    requestId,
    upstream,
    dispose: () => budget.dispose(),
    takeEvents: eventCounter(),
    loaders: {
      execution: createExecutionLoader({
        executions: deps.executions,
        call,
        callerKey: call ? SharedExecutions.callerKey(call.authorization) : '',
        stats: upstream,
        concurrency: deps.concurrencyPerRequest,
        maxExecutions: MAX_EXECUTIONS_PER_REQUEST,
        onLoaded: (record) => deps.unknownStatuses.observe(record.status),
      }),
    },
  };
}
