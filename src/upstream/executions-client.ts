/**
 * ExecutionsClient owns all HTTP to the executions API: base URL, the caller's
 * Authorization header, the resilience policies (./resilience.ts), body limits
 * and decoding, envelope validation, and the mapping of every failure to a
 * GraphQLError with a stable `extensions.code`.
 * Resolvers and loaders never see HTTP; they get an Execution or an error.
 */
import { AsyncResource } from 'node:async_hooks';
import { errors as undiciErrors, Pool } from 'undici';
import type { GraphQLError } from 'graphql';
import type { Execution } from '../domain/execution.js';
import {
  adviseScheme,
  attemptTimedOut,
  bearerWithoutToken,
  bodiesInFlightFull,
  bulkheadFull,
  callerPaused,
  tokenRefused,
  callerShareFull,
  circuitOpen,
  ErrorCode,
  errorForUpstreamStatus,
  executionPaused,
  FIELD_VALUE,
  invalidAuthorization,
  unreadableAnswer,
  upstreamUnreachable,
  UpstreamError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { CallerPauses, MAX_PAUSED_PAIRS, pairPauseKey } from './caller-pauses.js';
import { addExecutionEvent } from '../telemetry/execution-events.js';
import { FailureLog } from '../telemetry/failure-log.js';
import { abortedError, Cancellation, settleBeforeAbort } from './cancellation.js';
import { readEnvelopeHead, readExecution, upstreamRequestIdOf } from './envelope.js';
import { assertAllowedExecutionId, executionPath, type IdPattern } from './execution-path.js';
import { BodiesInFlightError, BodyBudget, type BodyLease } from './body-budget.js';
import { BodyTooLargeError, CorruptEncodingError, readBody, UnsupportedEncodingError, type BodyText } from './read-body.js';
import { holdsMoreJsonValues } from './json-values.js';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CallerShareFullError,
  createUpstreamPolicy,
  TaskCancelledError,
  type ResilienceOptions,
  type UpstreamPolicy,
} from './resilience.js';
import { parseRetryAfter } from './retry-after.js';
import { certificateHints } from '../certificate-hints.js';
import { textPrefix } from '../text-prefix.js';

/** Who a call is for: what is sent on their behalf, and their identity (never sent). */
export interface CallHeaders {
  /** The client's Authorization header, forwarded as is. */
  authorization: string;
  /** Propagated as `x-request-id` so upstream logs can be joined with ours. */
  requestId: string;
  /**
   * The caller's key (`Caller.key`: a hash of its token, however the header spelt the scheme,
   * ./caller.ts), for its share, its pause and judging whose failures they are.
   */
  callerKey: string;
  /**
   * The incoming request's W3C trace context, forwarded as it came when no
   * tracer replaces it with the attempt's own span (src/telemetry/tracing.ts).
   */
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** One upstream attempt as it starts. */
export interface AttemptStart {
  /** Always GET: the API has one endpoint. */
  method: 'GET';
  /** The attempt's URL (no query string: the API takes none, and the token travels in a header). */
  url: string;
  /** 1 for the first attempt of a call, 2 for its first retry, and so on. */
  attempt: number;
  /** The headers about to be sent, for a tracer to add its context to (never read the authorization from them). */
  headers: Record<string, string>;
}

/** How an attempt ended: a status when upstream answered, and what it means (`OK` or an ErrorCode). */
export interface AttemptEnd {
  status: number | undefined;
  outcome: 'OK' | ErrorCode | 'CANCELLED';
}

/**
 * Sees every upstream attempt: metrics time it, tracing opens a client span
 * around it (src/telemetry/). `start` returns what is called as it ends.
 */
export interface AttemptWatcher {
  start(attempt: AttemptStart): (end: AttemptEnd) => void;
}

export interface ExecutionsClientOptions {
  baseUrl: string;
  /** Deadline of one attempt, connect to last byte. */
  timeoutMs: number;
  connections: number;
  maxBodyBytes: number;
  /** UPSTREAM_MAX_BYTES_IN_FLIGHT: bytes of bodies held at once, process-wide (./body-budget.ts). */
  maxBytesInFlight: number;
  /** UPSTREAM_MAX_JSON_VALUES: JSON values a body may hold to be parsed (./json-values.ts). */
  maxJsonValues: number;
  executionIdPattern: IdPattern;
  logger: Logger;
  /** Retry, circuit breaker and bulkhead settings. */
  resilience: ResilienceOptions;
  /** UPSTREAM_REFUSED_TOKEN_MS: how long a token upstream refused (401, 403) is refused here without calling upstream; 0: never. */
  refusedTokenMs?: number;
  /** Telemetry of each attempt (src/telemetry/); none: no cost. */
  watchers?: readonly AttemptWatcher[];
}

/**
 * Why the gateway answered a call itself, without sending it upstream: the
 * circuit is open (or half-open with its probe in flight, or it refused a
 * retry), the bulkhead and its queue are full, the caller's share and the
 * queue are full, upstream asked this caller to pause (a 429 with Retry-After),
 * or asked this caller to pause for this execution (a 5xx with Retry-After); or upstream answered, and its body
 * would have taken the bodies held past UPSTREAM_MAX_BYTES_IN_FLIGHT.
 */
export type Refusal = 'circuit_open' | 'bulkhead_full' | 'caller_share_full' | 'caller_paused' | 'execution_paused' | 'bodies_in_flight' | 'token_refused';

/** At most one "upstream call failed" line per kind of failure per this interval (the first of a kind at once). */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/** A body refused by UPSTREAM_MAX_BYTES_IN_FLIGHT is asked again after this many ms plus up to as many more (jitter, so refused clients do not come back together). */
const BODIES_RETRY_AFTER_MS = 1_000;

export class ExecutionsClient {
  readonly #pool: Pool;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #options: ExecutionsClientOptions;
  readonly policies: UpstreamPolicy;
  /**
   * Calls refused by the gateway itself since start, by why (Refusal): each an
   * UPSTREAM_UNAVAILABLE no upstream attempt explains, read by the metrics
   * (gateway_upstream_refused_total).
   */
  readonly refusals: Record<Refusal, number> = { circuit_open: 0, bulkhead_full: 0, caller_share_full: 0, caller_paused: 0, execution_paused: 0, bodies_in_flight: 0, token_refused: 0 };
  /** The bytes of upstream bodies held now, against UPSTREAM_MAX_BYTES_IN_FLIGHT (./body-budget.ts). */
  readonly bodies: BodyBudget;
  /** Callers upstream rate-limited with a Retry-After, until it ends (./caller-pauses.ts). */
  readonly callerPauses = new CallerPauses();
  /** (Caller, execution) pairs upstream answered with a 5xx and a Retry-After, until it ends (./caller-pauses.ts, `pairPauseKey`). */
  readonly executionPauses = new CallerPauses(MAX_PAUSED_PAIRS);
  /**
   * Callers whose token upstream refused, for UPSTREAM_REFUSED_TOKEN_MS, by the status it refused it with: their
   * calls are answered with that status's error without calling upstream. Both statuses are about the token, not
   * the execution (401: unknown token; 403: a token without access to executions), so every id would get the same.
   */
  readonly #refusedTokens = { 401: new CallerPauses(), 403: new CallerPauses() } as const;
  /** "upstream call failed", bounded per kind of failure (../telemetry/failure-log.ts). */
  readonly #failureLog: FailureLog;
  /** "upstream answered with a body that breaks its contract", bounded the same way. */
  readonly #badResponseLog: FailureLog;
  /** "upstream body refused: UPSTREAM_MAX_BYTES_IN_FLIGHT reached", bounded the same way. */
  readonly #bodiesLog: FailureLog;
  /** Aborted by `close()`: the cancellation of the half-open probe, which its caller's does not stop. */
  readonly #closing = new Cancellation();

  constructor(options: ExecutionsClientOptions) {
    const url = new URL(options.baseUrl);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#options = options;
    this.#failureLog = new FailureLog(options.logger, 'upstream call failed', FAILURE_LOG_INTERVAL_MS);
    this.#badResponseLog = new FailureLog(options.logger, 'upstream answered with a body that breaks its contract', FAILURE_LOG_INTERVAL_MS);
    this.#bodiesLog = new FailureLog(options.logger, 'upstream body refused: the bodies held would pass UPSTREAM_MAX_BYTES_IN_FLIGHT', FAILURE_LOG_INTERVAL_MS);
    this.bodies = new BodyBudget(options.maxBytesInFlight);
    // One keep-alive pool per process: every request reuses warm sockets.
    // undici's request() never follows redirects, so the token stays on this origin.
    this.#pool = new Pool(this.#origin, {
      connections: options.connections,
      keepAliveTimeout: 30_000,
      // Each attempt keeps its own deadline (#attempt); undici's would only be a
      // second timer per call that never fires first.
      headersTimeout: 0,
      bodyTimeout: 0,
      // Bodies past the cap fail as they arrive (read-body.ts relies on it).
      maxResponseSize: options.maxBodyBytes,
      // undici ignores an abort while it connects and gives up connecting only after 10 s of its own:
      // a connect that never completes (a full accept queue, dropped SYNs) is bounded by the attempt's deadline too.
      connect: { timeout: options.timeoutMs },
    });
    this.policies = createUpstreamPolicy({ ...options.resilience, probeUnprovenCallers: (options.refusedTokenMs ?? 0) > 0 });
    // The judge says why it opened (failure-judge.ts): failures spread over many ids and callers, or upstream unreachable.
    this.policies.breaker.onBreak(() => options.logger.error({ why: this.policies.judge.reason }, 'upstream circuit opened: failing fast'));
    this.policies.breaker.onReset(() => options.logger.info('upstream circuit closed again'));
  }

  /**
   * Reads one execution from upstream. Resolves with it or rejects with a GraphQLError.
   * `cancellation` stops the call: an attempt in flight is aborted and no further
   * attempt starts. cockatiel is not handed it, so its breaker counts only
   * upstream failures, never a cancelled attempt; whoever waits on the call stops
   * waiting by its own cancellation (./shared-executions.ts). The call first
   * waits for a place in its caller's share of the bulkhead (./resilience.ts),
   * leaving it if `cancellation` fires; `options.poll`: a live poll, bounded by
   * the pollers' own slots instead. `options.sent` runs once, as the call's first
   * attempt goes to upstream: a call the breaker, the bulkhead or its queue
   * refused, or one cancelled before that, never reached upstream.
   */
  async getExecution(id: string, headers: CallHeaders, cancellation: Cancellation, options: { poll?: boolean; sent?: () => void } = {}): Promise<Execution> {
    this.assertAllowedId(id);
    // Refused before the breaker and undici: a value undici refuses is no upstream failure, and must cost no connection.
    if (!FIELD_VALUE.test(headers.authorization)) throw invalidAuthorization();
    // The one form of every spelling (./caller.ts): `bearer`, `Bearer ` and `BEARER` are this.
    if (headers.authorization === 'Bearer') throw bearerWithoutToken();
    const path = executionPath(this.#origin, this.#basePath, id);
    // Upstream asked this caller to wait (a 429 with Retry-After): answered here, as upstream would answer,
    // with the time left, so the caller's flood never reaches upstream during the pause. Live polls too:
    // their poller waits out `retryAfterMs` as it does upstream's own.
    // Asked again as the call leaves the queue: the pause may have begun while it waited behind the
    // caller's own calls, one of which got the 429.
    // The same for this execution after a 5xx with Retry-After (a new poller after a page reload, a query): each went
    // upstream at once, against upstream's word, however recently the poller before it or another call was told to wait.
    const refuseIfPaused = () => {
      this.#refuseIfTokenRefused(headers.callerKey, id);
      const pausedMs = this.callerPauses.remaining(headers.callerKey);
      if (pausedMs !== undefined) {
        this.#refused('caller_paused', id);
        throw callerPaused(pausedMs, this.callerPauses.elapsed(headers.callerKey) ?? 0);
      }
      // No key made while no pair is paused, which is nearly always.
      if (this.executionPauses.size === 0) return;
      const pair = pairPauseKey(headers.callerKey, id);
      const executionPausedMs = this.executionPauses.remaining(pair);
      if (executionPausedMs === undefined) return;
      this.#refused('execution_paused', id);
      throw executionPaused(executionPausedMs, this.executionPauses.elapsed(pair));
    };
    try {
      refuseIfPaused();
      // Each attempt's outcome is judged as this caller's, for this id (failure-judge.ts). Run in
      // this call's async context: a call queued by the bulkhead starts from the one that freed its
      // slot, whose trace it would otherwise join and send upstream. (A resource and runInAsyncScope:
      // AsyncResource.bind defines properties on a new function, many times the cost.)
      const scope = new AsyncResource('execution-gateway:upstream-call');
      // A live poll holds one of the pollers' own slots already: waiting in its caller's share too would keep
      // that slot from every other caller's watches (src/live/poller.ts).
      let sent = options.sent;
      const onSent = () => {
        sent?.();
        sent = undefined;
      };
      // The half-open probe runs to its own deadline whoever leaves (only closing the client stops it): a
      // probe its caller cancelled told nothing of upstream, and cockatiel closed the circuit on it.
      const attempt = (number: number, probe: boolean) =>
        scope.runInAsyncScope(this.#attempt, this, id, path, headers, probe ? this.#closing : cancellation, number, onSent);
      return await this.policies.execute(headers.callerKey, id, attempt, { cancellation, inShare: !options.poll, admit: refuseIfPaused });
    } catch (error) {
      throw adviseScheme(this.#toGraphQLError(error, id, cancellation), headers.authorization);
    }
  }

  /**
   * Throws BAD_USER_INPUT unless EXECUTION_ID_PATTERN allows the id. Synchronous,
   * so callers check before they count or share a call (./shared-executions.ts).
   */
  assertAllowedId(id: string): void {
    assertAllowedExecutionId(id, this.#options.executionIdPattern);
  }

  /** Deadline of one attempt, for error messages elsewhere. */
  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  close(): Promise<void> {
    this.#closing.abort(new Error('upstream client closed'));
    // After the pool: attempts that fail while it closes are counted before the counts are logged.
    return this.#pool.close().finally(() => {
      this.#failureLog.close();
      this.#badResponseLog.close();
    });
  }

  /** One attempt, seen by the watchers when there are any. */
  async #attempt(id: string, path: string, headers: CallHeaders, call: Cancellation, attempt: number, onSent: () => void): Promise<Execution> {
    // A retry that wakes after the call was cancelled must not reach upstream.
    if (call.aborted) throw new TaskCancelledError();
    onSent();
    const sent: Record<string, string> = {
      accept: 'application/json',
      'accept-encoding': 'gzip, br',
      authorization: headers.authorization,
      'x-request-id': headers.requestId,
    };
    // Trace context is a courtesy: a value that is no header value is dropped, not sent.
    if (headers.traceparent && FIELD_VALUE.test(headers.traceparent)) sent.traceparent = headers.traceparent;
    if (headers.tracestate && FIELD_VALUE.test(headers.tracestate)) sent.tracestate = headers.tracestate;
    const watchers = this.#options.watchers;
    if (!watchers?.length) return (await this.#send(id, path, sent, call, headers.callerKey)).execution;
    const ends = watchers.map((watcher) => watcher.start({ method: 'GET', url: this.#origin + path, attempt, headers: sent }));
    const end = (outcome: AttemptEnd) => {
      for (const each of ends) each(outcome);
    };
    try {
      const { execution, status } = await this.#send(id, path, sent, call, headers.callerKey);
      end({ status, outcome: 'OK' });
      return execution;
    } catch (error) {
      const status = error instanceof UpstreamError ? (error.extensions.upstreamStatus as number | undefined) : undefined;
      end({ status, outcome: error instanceof UpstreamError ? (error.extensions.code as ErrorCode) : 'CANCELLED' });
      throw error;
    }
  }

  /**
   * The execution, and the HTTP status it came with (any 2xx with a body: see below). Its body is charged to the
   * bodies held (UPSTREAM_MAX_BYTES_IN_FLIGHT) from when its size is known until it is parsed.
   */
  async #send(id: string, path: string, sent: Record<string, string>, call: Cancellation, callerKey: string): Promise<{ execution: Execution; status: number }> {
    const lease = this.bodies.lease();
    try {
      return await this.#sendCharging(id, path, sent, call, callerKey, lease);
    } finally {
      lease.release();
    }
  }

  async #sendCharging(
    id: string,
    path: string,
    sent: Record<string, string>,
    call: Cancellation,
    callerKey: string,
    lease: BodyLease,
  ): Promise<{ execution: Execution; status: number }> {
    // The attempt's own cancellation, handed to undici: at its deadline or when the call is cancelled.
    const cancel = new Cancellation();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      cancel.abort(new DOMException('attempt deadline', 'TimeoutError'));
    }, this.#options.timeoutMs);
    const unwatch = call.onAbort(() => cancel.abort(call.reason));
    let status: number | undefined;
    let upstreamRequestId: string | undefined;
    let retryAfterMs: number | undefined;
    let body: BodyText;
    let location: string | undefined;
    try {
      // Settled by the deadline or the call's cancellation even while undici is still connecting
      // (it heeds `signal` only once connected), so the bulkhead slot is freed on time.
      const response = await settleBeforeAbort(this.#pool.request({ method: 'GET', path, signal: cancel, headers: sent }), cancel, () =>
        cancel.reason instanceof Error ? cancel.reason : new Error('attempt cancelled'),
      );
      status = response.statusCode;
      // Any other status took the token (a 5xx too, so during an outage every caller counts for the breaker as its
      // own): from its head, so the caller's other calls need not wait for a large or slow body (./resilience.ts).
      // Not a 2xx's head: its envelope may still refuse the token (`"code": 401`), and proved here, a made-up token
      // refused so made a call per id, its 429s each a caller of its own for the breaker (#parseExecution proves it).
      if (!hasBodyToServe(status) && !refusesToken(status)) this.policies.proveCaller(callerKey);
      // An empty header names no response: the envelope's `requestId` then does.
      upstreamRequestId = upstreamRequestIdOf(headerValue(response.headers['x-request-id']));
      // Read up to UPSTREAM_PAUSE_MAX_MS: the pauses it sets refuse the caller's calls without asking upstream, so a
      // `Retry-After: 3600` on a maintenance page kept them refused an hour however soon upstream was back.
      retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), Date.now(), this.#options.resilience.pauseMaxMs);
      location = headerValue(response.headers.location);
      const read = readBody(
        response.body,
        response.headers['content-encoding'],
        headerValue(response.headers['content-length']),
        this.#options.maxBodyBytes,
        headerValue(response.headers['content-type']),
        lease,
      );
      // A status that answers by itself (404, 401, 503 …) keeps its meaning when its body cannot be read
      // (too large, an encoding the gateway does not read): only its request id would have come from there. So does a
      // final one (401, 403, 404, 410 …) whose body is still arriving at the attempt's deadline: a 401 whose body
      // stalled was UPSTREAM_TIMEOUT, "retry shortly", where the client had to renew its token. A transient one (5xx,
      // 429 …) stays a timeout, which either way says to retry: read as its status, it was retried at a deadline each.
      // Only for a status with no body to serve: a 200 (every status poll) makes neither the check nor the closure.
      body = hasBodyToServe(status)
        ? await read
        : await read.catch((error: unknown) => (call.aborted || (timedOut && !isFinalStatus(response.statusCode)) ? Promise.reject(error) : NO_BODY));
    } catch (error) {
      // The call was cancelled: not something to hold against upstream.
      if (call.aborted) throw error;
      // undici's connect timeout is the attempt's deadline too (`connect.timeout` above): whichever timer fires
      // first, the attempt ran out of time. Told apart, a loaded machine turned some into UPSTREAM_UNAVAILABLE.
      if (timedOut || isConnectTimeout(error)) {
        throw attemptTimedOut(this.#options.timeoutMs, { upstreamStatus: status, upstreamRequestId });
      }
      // A 2xx whose body the gateway gives up on (too large, or in a coding it cannot read) refused no token it could
      // see: proved as its head proved it before (a 2xx it reads is proved by its envelope, #parseExecution).
      const givenUp = error instanceof BodiesInFlightError || error instanceof BodyTooLargeError || error instanceof UnsupportedEncodingError || error instanceof CorruptEncodingError;
      if (givenUp && hasBodyToServe(status)) this.policies.proveCaller(callerKey);
      // Upstream answered, but the process holds as many bytes of bodies as it may: this body is given up, not waited for.
      if (error instanceof BodiesInFlightError) {
        this.#refused('bodies_in_flight', id);
        this.#bodiesLog.observe('bodies in flight', {
          executionId: id,
          why: `${error.message}, with ${this.bodies.charged} bytes held of UPSTREAM_MAX_BYTES_IN_FLIGHT (${this.bodies.maxBytes})`,
          upstreamStatus: status,
        });
        throw bodiesInFlightFull(BODIES_RETRY_AFTER_MS + Math.floor(Math.random() * BODIES_RETRY_AFTER_MS));
      }
      // Named by its setting: the log line tells an operator what to raise, the client only that it was too large.
      if (error instanceof BodyTooLargeError) {
        const why = `body ${error.message} is over UPSTREAM_MAX_BODY_BYTES (${this.#options.maxBodyBytes} bytes)`;
        throw this.#badResponse(id, 'too large', why, { upstreamStatus: status, upstreamRequestId });
      }
      if (error instanceof UnsupportedEncodingError || error instanceof CorruptEncodingError) {
        throw this.#badResponse(id, 'encoding', describe(error).message, { upstreamStatus: status, upstreamRequestId });
      }
      // An answer undici cannot parse (a malformed status line, conflicting lengths, headers past its bound):
      // upstream's doing, and asked again it would answer the same.
      if (isMalformedAnswer(error, status === undefined)) throw this.#badResponse(id, 'malformed', describe(error).message, { upstreamStatus: status, upstreamRequestId });
      // undici refused to send it (a value it cannot put in a request): nothing upstream did, so neither retried nor held against it.
      if (error instanceof Error && 'code' in error && error.code === 'UND_ERR_INVALID_ARG') throw error;
      const err = describe(error);
      // A connection closed before any answer's head is also what a TLS port does with a plain-HTTP request (Node's,
      // Envoy's, a load balancer's HTTPS listener): "other side closed" alone did not point at UPSTREAM_URL's scheme.
      const hint = err.code === 'UND_ERR_SOCKET' && status === undefined ? CLOSED_BEFORE_ANSWER : err.code === undefined ? undefined : TLS_HINTS[err.code];
      this.#failureLog.observe(err.code ?? err.name, { executionId: id, err, ...(hint === undefined ? {} : { hint }) });
      throw upstreamUnreachable({
        retryable: true,
        countsAsFailure: true,
        unreachable: isUnreachable(error),
      });
    } finally {
      clearTimeout(deadline);
      unwatch();
    }
    if (body.ignoredTrailingBytes !== undefined) {
      const deflate = body.trailingCoding === 'deflate';
      this.#badResponseLog.observe(deflate ? 'deflate trailing bytes' : 'gzip trailing bytes', {
        executionId: id,
        why: deflate
          ? `deflate body followed by ${body.ignoredTrailingBytes} bytes after the end of its stream: read as the stream before them, as browsers do, the rest ignored`
          : `gzip body followed by ${body.ignoredTrailingBytes} bytes that begin no gzip member: read as the complete member(s) before them, as browsers do, the rest ignored`,
        upstreamStatus: status,
        upstreamRequestId,
      });
    }
    if (!hasBodyToServe(status)) {
      // An error body too full of values to parse is still answered by its status; only its request id is not read.
      const countable = !holdsMoreJsonValues(body.text, this.#options.maxJsonValues);
      const json = countable ? safeJson(body.text) : undefined;
      const requestId = upstreamRequestId ?? readEnvelopeHead(json).requestId;
      const error = this.#statusError(status, id, callerKey, { upstreamStatus: status, upstreamRequestId: requestId, retryAfterMs });
      if (error.unnamedStatus) this.#unnamedStatusLog(id, `HTTP ${status}`, redirectTarget(status, location, this.#origin + path), status, requestId);
      // A 400 or 404 that is no JSON object is most likely not the executions API's answer but whatever answers at
      // UPSTREAM_URL (a router's page, nginx's): every query was NOT_FOUND or BAD_USER_INPUT, and nothing said why.
      const advice = PAGE_ADVICE[status];
      if (advice !== undefined && countable && (json === null || typeof json !== 'object' || Array.isArray(json))) {
        this.#badResponseLog.observe(`${status} without envelope`, {
          executionId: id,
          why: `HTTP ${status} whose body is no JSON envelope, ${advice} (this call went to ${this.#origin + path})`,
          upstreamStatus: status,
          upstreamRequestId: requestId,
        });
      }
      throw error;
    }
    const execution = this.#parseExecution(id, callerKey, body, { upstreamStatus: status, upstreamRequestId, retryAfterMs });
    // Upstream served the pair: a pause a 5xx began for it (the answer to a call of the caller's sent after this one, as
    // a query beside a live poll does not share a call) is over. Kept, every call of the
    // pair was refused for the rest of the Retry-After though upstream had just answered it.
    if (this.executionPauses.size > 0) this.executionPauses.end(pairPauseKey(callerKey, id));
    return { execution, status };
  }

  /**
   * The error for an answer's status, HTTP's or its envelope's `code` (mapped alike), after the pauses its
   * Retry-After sets: a 429 is about this caller's token (a 503 is upstream's as a whole, the breaker's
   * business), so it holds for every further call of the caller, not only this one's retry; a 5xx says how
   * long this execution is expected to stay unavailable to this caller (RFC 9110 §10.2.3), so every further
   * call of the pair waits it out (./caller-pauses.ts).
   */
  #statusError(status: number, id: string, callerKey: string, facts: { upstreamStatus: number; upstreamRequestId: string | undefined; retryAfterMs: number | undefined }): UpstreamError {
    const { retryAfterMs } = facts;
    if (status === 401 || status === 403) this.#refusedTokens[status].pause(callerKey, this.#options.refusedTokenMs ?? 0);
    if (status === 429 && retryAfterMs !== undefined) this.callerPauses.pause(callerKey, retryAfterMs);
    if (status >= 500 && status <= 599 && retryAfterMs !== undefined) this.executionPauses.pause(pairPauseKey(callerKey, id), retryAfterMs);
    return errorForUpstreamStatus(status, { ...facts, retryAfterCapMs: this.#options.resilience.retryAfterCapMs });
  }

  #parseExecution(
    id: string,
    callerKey: string,
    body: BodyText,
    facts: { upstreamStatus: number; upstreamRequestId: string | undefined; retryAfterMs: number | undefined },
  ): Execution {
    if (holdsMoreJsonValues(body.text, this.#options.maxJsonValues)) {
      this.policies.proveCaller(callerKey);
      const why = `body holds more JSON values than UPSTREAM_MAX_JSON_VALUES (${this.#options.maxJsonValues})`;
      throw this.#badResponse(id, 'too large', why, { upstreamStatus: facts.upstreamStatus, upstreamRequestId: facts.upstreamRequestId });
    }
    const json = safeJson(body.text);
    const head = readEnvelopeHead(json);
    if (head.errorStatus === undefined || !refusesToken(head.errorStatus)) this.policies.proveCaller(callerKey);
    const coding = body.unknownCoding === undefined ? undefined : `Content-Encoding \`${textPrefix(body.unknownCoding, MAX_LOGGED_CODING)}\`, which the gateway does not decode`;
    if (json === undefined) {
      if (coding !== undefined) throw this.#badResponse(id, 'encoding', `${coding}: its body, read as sent, is not JSON`, { upstreamStatus: facts.upstreamStatus, upstreamRequestId: facts.upstreamRequestId });
      throw this.#badResponse(id, 'not JSON', 'body is not JSON', { upstreamStatus: facts.upstreamStatus, upstreamRequestId: facts.upstreamRequestId });
    }
    if (coding !== undefined) {
      this.#badResponseLog.observe('unknown coding', {
        executionId: id,
        why: `${coding}: its body was read as sent, as browsers read it`,
        upstreamStatus: facts.upstreamStatus,
        upstreamRequestId: facts.upstreamRequestId,
      });
    }
    // A 200 can still carry an error envelope; its code is honoured as that HTTP status would be, Retry-After included.
    const upstreamRequestId = facts.upstreamRequestId ?? head.requestId;
    if (head.errorStatus !== undefined) {
      const error = this.#statusError(head.errorStatus, id, callerKey, { ...facts, upstreamRequestId });
      if (error.unnamedStatus) this.#unnamedStatusLog(id, `envelope code ${head.errorStatus}`, '', facts.upstreamStatus, upstreamRequestId);
      throw error;
    }
    const execution = readExecution(json, id, body.bytes, upstreamRequestId);
    if ('unusable' in execution) throw this.#badResponse(id, 'unusable', execution.unusable, { upstreamStatus: facts.upstreamStatus, upstreamRequestId });
    // Read as UTF-8: served, with a note on the execution (src/schema/query.ts), never lost over its label.
    return body.unknownCharset === undefined ? execution : { ...execution, unknownCharset: body.unknownCharset };
  }

  /**
   * UPSTREAM_BAD_RESPONSE, logged for the operator with why, bounded as network
   * failures are (`kind`: a small fixed set, one line at once and then a count
   * per interval): a proxy answering every call with its maintenance page wrote
   * one line per call.
   */
  #badResponse(
    id: string,
    kind: 'too large' | 'encoding' | 'malformed' | 'not JSON' | 'unusable',
    why: string,
    facts: { upstreamStatus?: number; upstreamRequestId?: string | undefined },
  ): UpstreamError {
    this.#badResponseLog.observe(kind, { executionId: id, why, ...facts });
    return unreadableAnswer(facts, kind === 'too large');
  }

  /**
   * An answer whose status the contract does not name (a redirect, a 410, an envelope's 422), logged as a body that
   * breaks the contract is, bounded the same way: the client gets UPSTREAM_BAD_RESPONSE, and the operator got no line
   * at all, so an UPSTREAM_URL that upstream redirects (to https, say) failed every call with nothing saying where to.
   */
  #unnamedStatusLog(id: string, answered: string, redirect: string, upstreamStatus: number, upstreamRequestId: string | undefined): void {
    this.#badResponseLog.observe(answered, {
      executionId: id,
      why: `${answered}, a status the executions API's contract does not name${redirect}`,
      upstreamStatus,
      upstreamRequestId,
    });
  }

  /**
   * Refuses the call when upstream refused the caller's token within UPSTREAM_REFUSED_TOKEN_MS: asked again, it
   * would refuse it again. Checked as the call starts, as it leaves the queue and before each retry, so a request
   * for many ids stops calling upstream as soon as the first refusal comes back.
   */
  #refuseIfTokenRefused(callerKey: string, id: string): void {
    for (const status of [401, 403] as const) {
      const refused = this.#refusedTokens[status];
      // No key made while no token is refused, which is nearly always.
      if (refused.size === 0) continue;
      const ms = refused.remaining(callerKey);
      if (ms === undefined) continue;
      this.#refused('token_refused', id);
      throw tokenRefused(status, ms);
    }
  }

  /**
   * Counts a call the gateway refused itself, and says so on the active span
   * (the operation's, or a live poll's): without it a trace showed an
   * UPSTREAM_UNAVAILABLE with no upstream attempt and no reason.
   */
  #refused(by: Refusal, id: string): void {
    this.refusals[by]++;
    addExecutionEvent('upstream call refused', id, { 'execution_gateway.refused_by': by });
  }

  /** What a failure that survived the policies means to the client. */
  #toGraphQLError(error: unknown, id: string, call: Cancellation): GraphQLError {
    if (error instanceof UpstreamError) return error;
    // The open circuit's refusal, no upstream call made: marked, so a live poller does not take it for
    // upstream failing again and back off past the moment the circuit lets a call through.
    if (error instanceof BrokenCircuitError) {
      this.#refused('circuit_open', id);
      const retryInMs = this.policies.probeInMs();
      return circuitOpen(retryInMs);
    }
    if (error instanceof BulkheadRejectedError) {
      this.#refused('bulkhead_full', id);
      return bulkheadFull();
    }
    if (error instanceof CallerShareFullError) {
      this.#refused('caller_share_full', id);
      return callerShareFull(error.limit);
    }
    if (error instanceof TaskCancelledError || call.aborted) return abortedError(call, this.#options.timeoutMs);
    this.#options.logger.error({ executionId: id, err: describe(error) }, 'unexpected failure calling upstream');
    return upstreamUnreachable();
  }
}

/**
 * Failures before any request was sent: no connection, no address, no route.
 * Nothing a caller asked for can cause them, so the breaker holds them against
 * upstream as a whole (failure-judge.ts). A reset or a socket closed after the
 * request went out is not among them: one request can provoke it (say, a body
 * that crashes a proxy), so it stays that request's failure.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** undici's connect timeout, read as the attempt's deadline (UPSTREAM_TIMEOUT), as the gateway's own timer is. */
function isConnectTimeout(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'UND_ERR_CONNECT_TIMEOUT';
}

function isUnreachable(error: unknown): boolean {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && UNREACHABLE_CODES.has(error.code);
}

/** Any 2xx with a body answers the GET (a proxy's 203, say); 204 and 205 have none to serve. */
function hasBodyToServe(status: number | undefined): status is number {
  return status !== undefined && status >= 200 && status <= 299 && status !== 204 && status !== 205;
}

/** Statuses that refuse the caller's token (or rate-limit it): an answer with one does not prove the caller (./resilience.ts). */
function refusesToken(status: number): boolean {
  return status === 401 || status === 403 || status === 429;
}

/** Statuses that ask for the request again (errors.ts `errorForUpstreamStatus`): asked again, upstream may answer otherwise. */
const TRANSIENT_STATUSES = new Set([408, 421, 425, 429]);

/** Whether a status that is no answer to serve is final: asked again, upstream answers the same (a 401, a 404, a 410). */
function isFinalStatus(status: number): boolean {
  return status < 500 && !TRANSIENT_STATUSES.has(status);
}

/** What a status that is no answer to serve is read with when its body could not be. */
const NO_BODY: BodyText = { text: '', bytes: 0 };

/**
 * undici's llhttp parser errors and its bound on response headers. A parser
 * error is known by its class: undici 7 names its code by looking the error's
 * number up in llhttp's table of names, which maps names to numbers only, so
 * `code` is always undefined, never the `HPE_*` it means (a malformed status
 * line or chunk size then passed for a network failure: retried, and held
 * against upstream). One parser error is a cut, not a malformed answer: the
 * connection ended in the middle of a chunked body sent with `Connection:
 * close` (llhttp's "Invalid EOF state"), which undici reports so where a
 * keep-alive answer cut the same way is a SocketError. `beforeHead`: no
 * response head had come in (undici rejected the request itself).
 */
function isMalformedAnswer(error: unknown, beforeHead: boolean): boolean {
  if (error instanceof undiciErrors.HTTPParserError) return !error.message.includes('Invalid EOF state');
  // A status code below 100 (`HTTP/1.1 099 X`, `000`): llhttp takes any three digits, and undici 7 trips its own
  // assertion on it (`statusCode >= 100`) once the answer ends, so it came as an AssertionError, retried and held
  // against upstream as a network failure, where RFC 9110 §15 has no such status: a malformed status line.
  if (beforeHead && isLowStatusAssertion(error)) return true;
  // A 101 to a plain GET: upstream switched protocols nobody asked for.
  if (beforeHead && error instanceof undiciErrors.SocketError && error.message === 'bad upgrade') return true;
  if (!(error instanceof Error && 'code' in error && typeof error.code === 'string')) return false;
  // Framing the parser refused in the head (two Content-Length lines, one beside chunked) comes as a length mismatch;
  // once the head is in, the same error is a body cut short under `Connection: close`, retried as any cut.
  if (beforeHead && error.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return true;
  return error.code.startsWith('HPE_') || error.code === 'UND_ERR_HEADERS_OVERFLOW';
}

/** undici's AssertionError on a response status code below 100 (client-h1.js `assert(statusCode >= 100)`). */
function isLowStatusAssertion(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ERR_ASSERTION' && error.message.includes('statusCode >= 100');
}

/** Longest redirect target a log line carries. */
const MAX_LOGGED_LOCATION = 200;

/** Characters of a Content-Encoding the gateway does not decode that a log line carries: any real coding's name fits. */
const MAX_LOGGED_CODING = 64;

/**
 * Where a 3xx pointed, for the log: `, a redirect (never followed) to <origin and path>`, the query and fragment left
 * out (a signed URL's secret may sit there); empty for another status or no readable Location.
 */
function redirectTarget(status: number, location: string | undefined, requested: string): string {
  if (status < 300 || status > 399 || location === undefined) return '';
  let target: URL;
  try {
    target = new URL(location, requested);
  } catch {
    return ', a redirect (never followed) to a Location that is no URL';
  }
  const where = textPrefix(`${target.origin}${target.pathname}`, MAX_LOGGED_LOCATION);
  return `, a redirect (never followed) to ${where}${target.origin === new URL(requested).origin ? '' : ', another origin (is UPSTREAM_URL the one to call?)'}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * What a 400 or 404 whose body is no JSON envelope is told as, by status: a 404 page is a router's for a path that does
 * not exist (UPSTREAM_URL with a wrong prefix); a 400 page is nginx's "The plain HTTP request was sent to HTTPS port"
 * (an http:// UPSTREAM_URL naming a TLS port).
 */
const PAGE_ADVICE: Readonly<Record<number, string>> = {
  400: 'answered as BAD_USER_INPUT; if every call is refused so, check UPSTREAM_URL: its scheme (an http:// URL naming an HTTPS port gets such a 400 from nginx), host and port',
  404: 'answered as NOT_FOUND; if every execution is not found, check UPSTREAM_URL',
};

/** The hint of an https:// URL whose port answers plain HTTP (TLS_HINTS). */
const PLAIN_PORT = 'UPSTREAM_URL is https:// but its host and port do not answer in TLS: use http:// if the executions API serves plain HTTP there, or its TLS port';
/** The hint of a connection closed before any answer came (UND_ERR_SOCKET with no status), which may be upstream failing. */
const CLOSED_BEFORE_ANSWER =
  'if every call fails so, check the scheme of UPSTREAM_URL: a port that speaks TLS closes a plain-HTTP request without an answer (use https://)';
/**
 * What to do about a TLS failure, by its code, for the "upstream call failed" line: OpenSSL's words alone ("self-signed
 * certificate", "ssl3_get_record:wrong version number") did not say that UPSTREAM_URL was https to a plain-HTTP port,
 * or that a private CA is given to Node with NODE_EXTRA_CA_CERTS, which undici's connections trust as Node's own.
 */
const TLS_HINTS: Readonly<Record<string, string>> = {
  ...certificateHints(
    'UPSTREAM_URL',
    'start the gateway with NODE_EXTRA_CA_CERTS=/path/to/ca.pem naming the CA that signed it (a private CA\'s, or the certificate itself when self-signed), or have upstream send its whole chain',
    'upstream must renew it',
  ),
  ERR_TLS_CERT_ALTNAME_INVALID: "UPSTREAM_URL's host is not a name its certificate holds: use a host name the certificate names",
  ERR_SSL_WRONG_VERSION_NUMBER: PLAIN_PORT,
  ERR_SSL_PACKET_LENGTH_TOO_LONG: PLAIN_PORT,
};

/** Error details safe to log: never headers, never bodies. */
function describe(error: unknown): { name: string; code?: string; message: string } {
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    return { name: error.name, message: error.message, ...(code ? { code } : {}) };
  }
  return { name: 'unknown', message: String(error) };
}
