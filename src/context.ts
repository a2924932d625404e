/**
 * The context made fresh for every GraphQL request: who is calling (their
 * Authorization header, forwarded as is), the request id used for tracing, and
 * loaders bound to that caller. Nothing here outlives the request.
 */
import { randomUUID } from 'node:crypto';
import type { UnknownStatusReporter } from './domain/execution-status.js';
import { createExecutionLoader, type ExecutionLoader } from './upstream/execution-loader.js';
import type { ExecutionsClient, UpstreamCall } from './upstream/executions-client.js';

export interface GatewayContext {
  requestId: string;
  loaders: { execution: ExecutionLoader };
}

export interface ContextDependencies {
  client: ExecutionsClient;
  concurrencyPerRequest: number;
  /** Upstream time one GraphQL request may spend in all, retries included. */
  requestBudgetMs: number;
  unknownStatuses: UnknownStatusReporter;
}

/** A client-sent request id is kept when it is a short printable token; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const requestIds = new WeakMap<Request, string>();

/** The request's tracing id, the same for the context, upstream calls and the response header. */
export function requestIdOf(request: Request): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    const sent = request.headers.get('x-request-id');
    id = sent && REQUEST_ID.test(sent) ? sent : randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

export function createContext(request: Request, deps: ContextDependencies): GatewayContext {
  const requestId = requestIdOf(request);
  const authorization = request.headers.get('authorization');
  // Upstream calls stop when the client goes away or the request's budget is spent.
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(deps.requestBudgetMs)]);
  const call: UpstreamCall | null = authorization?.trim() ? { authorization, requestId, signal } : null;
  return {
    requestId,
    loaders: {
      execution: createExecutionLoader({
        client: deps.client,
        call,
        concurrency: deps.concurrencyPerRequest,
        onLoaded: (record) => deps.unknownStatuses.observe(record.status),
      }),
    },
  };
}
