/**
 * The GraphQL context, made fresh for every request: its scope (caller,
 * request id, cancellation, cost, limits: ./scope.ts) and loaders bound to that
 * scope. Resolvers see only these.
 */
import type { UnknownStatusReporter } from '../domain/execution-status.js';
import type { LiveExecutions } from '../live/live-executions.js';
import { createExecutionLoader, type ExecutionLoader } from '../upstream/execution-loader.js';
import type { SharedExecutions } from '../upstream/shared-executions.js';
import { forwardedTraceContext } from '../telemetry/trace-context.js';
import { callerOf, namesCaller } from '../upstream/caller.js';
import { requestIdFor } from './request-id.js';
import { tokenParamsInUrl } from './url-token.js';
import { RequestScope, type ClientWatch, type WarningLog } from './scope.js';
import { isShutdownCut, wasCutBeforeItsHead, wasCutByShutdown, type GoneCause } from './shutdown-cut.js';

export interface GatewayContext {
  scope: RequestScope;
  loaders: { execution: ExecutionLoader };
  /** Live executions: the source of subscriptions. */
  live: LiveExecutions;
}

export interface ContextDependencies {
  executions: SharedExecutions;
  /** Upstream calls one request may have in flight at once. */
  concurrencyPerRequest: number;
  /** Upstream time one request may spend in all, retries included (ms). */
  requestBudgetMs: number;
  /** Characters of upstream values one result may hand out (UPSTREAM_MAX_BODY_BYTES: ./scope.ts `handOut`). */
  maxServedChars: number;
  statuses: UnknownStatusReporter;
  warningLog: WarningLog;
  live: LiveExecutions;
}

/**
 * What the context is made from: Yoga's initial context, that is the server
 * context the HTTP edge passed (`requestId`, node's `res`) plus the request.
 */
export interface RequestSource {
  request: { headers: { get(name: string): string | null }; signal: AbortSignal; url?: string };
  requestId?: string;
  /** See RequestScope's `onUpstreamReading` (passed by the WebSocket edge). */
  onUpstreamReading?: (callerKey: string) => void;
  /** See RequestScope's `unreadTokenParams` (passed by the WebSocket edge). */
  unreadTokenParams?: readonly string[];
  /** The token-like parameter names of a WebSocket's upgrade URL (passed by the WebSocket edge, whose requests have none). */
  urlTokenParams?: readonly string[];
  /** Set for an operation sent over a WebSocket. */
  webSocket?: unknown;
  res?: { readonly destroyed: boolean; readonly writableFinished: boolean; once(event: 'close', listener: () => void): unknown; off(event: 'close', listener: () => void): unknown };
}

/** The client going away: node's response closing before it was sent. It costs less than an AbortSignal. */
class ResponseWatch implements ClientWatch {
  constructor(private readonly res: NonNullable<RequestSource['res']>) {}

  onClientGone(listener: (cause: GoneCause) => void): () => void {
    const { res } = this;
    if (res.destroyed) {
      if (!res.writableFinished || wasCutBeforeItsHead(res)) listener(wasCutByShutdown(res) ? 'shutdown' : 'left');
      return noop;
    }
    // A method, not a named function: tsx (esbuild's keepNames) would add a defineProperty per request.
    const { onClose } = {
      onClose() {
        // Answered by the drain's 503 (src/server/drain.ts `cut`), not by its pipeline, which is still running.
        if (!res.writableFinished || wasCutBeforeItsHead(res)) listener(wasCutByShutdown(res) ? 'shutdown' : 'left');
      },
    };
    res.once('close', onClose);
    return () => res.off('close', onClose);
  }
}

/**
 * The client going away as the request's AbortSignal says, where there is no node response (`yoga.fetch`, an
 * operation over a WebSocket). Aborted with a SHUTDOWN_CUT reason (the WebSocket edge's `close`, when the drain's
 * grace ran out), it was the drain, not the client: as ResponseWatch tells a response the drain cut.
 */
class SignalWatch implements ClientWatch {
  constructor(private readonly signal: AbortSignal) {}

  onClientGone(listener: (cause: GoneCause) => void): () => void {
    const { signal } = this;
    const left = () => listener(isShutdownCut(signal.reason) ? 'shutdown' : 'left');
    if (signal.aborted) {
      left();
      return noop;
    }
    signal.addEventListener('abort', left, { once: true });
    return () => signal.removeEventListener('abort', left);
  }
}

function noop() {}

export function createContext(source: RequestSource, deps: ContextDependencies): GatewayContext {
  const requestId = source.requestId ?? requestIdFor(source.request.headers.get('x-request-id'));
  const authorization = source.request.headers.get('authorization');
  const caller = namesCaller(authorization) ? callerOf(authorization) : null;
  const watch = source.res ? new ResponseWatch(source.res) : new SignalWatch(source.request.signal);
  const scope = new RequestScope(requestId, caller, watch, { budgetMs: deps.requestBudgetMs, maxServedChars: deps.maxServedChars }, deps.warningLog);
  const traceparent = source.request.headers.get('traceparent');
  if (traceparent) scope.traceHeaders = forwardedTraceContext(traceparent, source.request.headers.get('tracestate'));
  if (source.onUpstreamReading) scope.onUpstreamReading = source.onUpstreamReading;
  if (source.unreadTokenParams) scope.unreadTokenParams = source.unreadTokenParams;
  if (!caller) {
    // Read only when no token was sent: a request with one pays nothing.
    const names = source.urlTokenParams ?? tokenParamsInUrl(source.request.url);
    if (names.length > 0) scope.tokenInUrl = { names, webSocket: source.webSocket !== undefined };
  }
  return {
    scope,
    live: deps.live,
    loaders: {
      execution: createExecutionLoader({
        executions: deps.executions,
        scope,
        concurrency: deps.concurrencyPerRequest,
        statuses: deps.statuses,
      }),
    },
  };
}
