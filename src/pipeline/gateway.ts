/**
 * createGateway builds the Yoga instance: the schema, the context, and every
 * plugin a request goes through, in one list. This list is the pipeline: both
 * lanes of the HTTP edge (src/server/http-edge.ts) run it, the fast lane
 * (src/fast-lane/) with less machinery, the full lane through Yoga's own node
 * adapter. It never listens, so tests can also call `yoga.fetch` without a port.
 *
 * The plugin list, in order: envelop's hook lists taken for the fast lane
 * (fast lane on); the request id; an event stream's status for a request error
 * (./event-stream.ts: before what records a status); the operation's span
 * (tracing on); Yoga's Prometheus metrics (METRICS not off); CORS's Vary; `no-store`; GraphiQL's
 * revalidation (GraphiQL on); hop-by-hop headers dropped; the event stream's headers; `documentId` read from a GET or
 * form; request errors; stable error codes; the access log; the edge's refusals
 * (answered as they arrive); GraphiQL's 404 when it is off; trusted documents
 * (refused before parsing); CSRF prevention; GraphQL Armor's limits, hidden
 * suggestions and the introspection switch at parse and validation; the spec's
 * current rule for a subscription's root field; the finish step (scope
 * released, suggestions stripped, upstream cost); a watch ended after an
 * update refused as a whole (./refused-updates.ts); compiled execution (fast
 * lane on); then any plugin given; the operation's resolution (which operation
 * of the document runs); the error log; last, the
 * validation cache, the closing of streams nobody serves, and the refusal of
 * an ID or Int variable sent as an integer past 2^53 (./id-variables.ts). Context
 * (../request/context.ts), execution and masking are Yoga's own steps.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { OperationsConfig, SecurityConfig, UpstreamConfig } from '../config.js';
import { TOLD_STATUSES_MAX, UnknownStatusReporter } from '../domain/execution-status.js';
import { MASKED_MESSAGE } from '../errors.js';
import { useCompiledExecution, useEnvelopHooks } from '../fast-lane/index.js';
import type { Logger } from '../logger.js';
import { createContext, type GatewayContext, type RequestSource } from '../request/context.js';
import { OncePerFieldLog } from '../request/warning-log.js';
import { schema } from '../schema/index.js';
import type { LiveExecutions } from '../live/live-executions.js';
import type { SharedExecutions } from '../upstream/shared-executions.js';
import type { GatewayMetrics } from '../telemetry/metrics.js';
import { useOperationSpans } from '../telemetry/operation-spans.js';
import type { AccessLog } from '../telemetry/access-log.js';
import { FailureLog } from '../telemetry/failure-log.js';
import { corsPolicy, useVaryOrigin } from './cors.js';
import { useCsrfPrevention } from './csrf-prevention.js';
import { createDocumentCaches } from './document-cache.js';
import { useOperationResolution, useStableErrorCodes } from './error-codes.js';
import { createErrorLog } from './error-log.js';
import { useExecutionFinish } from './execution-finish.js';
import { graphiqlFor, graphiqlOffMessage, graphiqlOptions, renderGraphiQL, useGraphiQLRevalidation, useNoGraphiQL, type GraphiQLSettings } from './graphiql.js';
import { useOperationLimits } from './operation-limits.js';
import { useRefusedUpdatesEnd } from './refused-updates.js';
import { useEdgeRefusals, useRequestErrors, type EdgeRefusal } from './request-errors.js';
import { useRequestId } from './request-id.js';
import { useSpecRules } from './spec-rules.js';
import { useDocumentIdParameter, useTrustedDocuments } from './trusted-documents.js';
import { useExactIdVariables } from './id-variables.js';
import { useMisnamedVariables } from './misnamed-variables.js';
import { useValidationCache } from './validation-cache.js';
import { useUnservedStreamClosing } from './unserved-streams.js';
import { useEventStreamErrorStatus, useEventStreamHeaders } from './event-stream.js';
import type { TrustedProxies } from '../server/client-address.js';
import { useNoStore } from './cache-control.js';
import { useNoHopByHopHeaders } from './hop-by-hop.js';

/** What the HTTP edge hands Yoga with every request (Yoga's "server context"). */
export interface GatewayServerContext {
  req?: IncomingMessage;
  res?: ServerResponse;
  /** Assigned by the edge before anything runs (./request-id.ts). */
  requestId?: string;
  /** Work a plugin leaves running after the response; the edge keeps track of it. */
  waitUntil(promise: Promise<unknown> | void): void;
  /** Set when the request is an operation sent over a WebSocket (src/server/websocket.ts): its connection's upgrade, and that upgrade's id. */
  webSocket?: { upgradeRequestId: string; upgrade: IncomingMessage };
  /** Called each time the request is handed an execution upstream answered with its token, with its caller's key (src/request/scope.ts `onUpstreamReading`). */
  onUpstreamReading?: (callerKey: string) => void;
  /** A WebSocket operation's connectionParams key names, when they hold no token the gateway reads (src/request/scope.ts `unreadTokenParams`). */
  unreadTokenParams?: readonly string[];
  /** A WebSocket operation's upgrade URL's parameter names that look like a token, which the gateway never reads (src/request/url-token.ts). */
  urlTokenParams?: readonly string[];
  /** What the edge refused the request with before handing it over (a WebSocket operation): the pipeline answers it as it arrives (./request-errors.ts). */
  edgeRefusal?: EdgeRefusal;
}

export interface GatewayDependencies {
  /** Executions shared beyond one request: calls in flight and the cache of finished ones, over the upstream client. */
  executions: SharedExecutions;
  /** Live watches: the source of subscriptions. */
  live: LiveExecutions;
  logger: Logger;
  /** Prometheus metrics (src/telemetry/metrics.ts); absent with METRICS=off. */
  metrics?: GatewayMetrics;
  /** A server span per operation (src/telemetry/operation-spans.ts); absent when tracing is off. */
  operationSpans?: { document: boolean; trustedProxies?: TrustedProxies | undefined };
  /** The access log (src/telemetry/access-log.ts), shared with the edge, which writes the lines of its own answers. */
  accessLog: AccessLog;
  security: SecurityConfig;
  /** What one operation may ask for (OPERATION_MAX_*): every lane and transport is held to it here. */
  operationLimits: OperationsConfig;
  /**
   * Tells of a browser page refused for its origin (src/pipeline/cors.ts, refusedOriginLog): one for the process,
   * shared with the WebSocket upgrade's Origin check, so each origin is told of once over every transport.
   */
  refusedOrigin: (origin: string) => void;
  upstream: Pick<UpstreamConfig, 'requestBudgetMs' | 'concurrencyPerRequest' | 'maxBodyBytes'>;
  /** Report each request's upstream cost in `extensions.upstream`. */
  reportCost: boolean;
  /** The fast lane (FAST_LANE, src/fast-lane/): its hook lists taken and its operations compiled by graphql-jit. */
  fastLane: boolean;
  /** Heap the parsed-document caches may hold (DOCUMENT_CACHE_MAX_BYTES, ./document-cache.ts). */
  documentCacheMaxBytes: number;
  graphiql?: GraphiQLSettings;
  /**
   * Plugins after the gateway's own (before the operation's resolution): those of a program that builds the gateway
   * itself (src/server/instance.ts `createInstance`), and probes in tests. The process (`npm start`) adds none: a
   * plugin every deployment runs goes into the list below (README "Adding a plugin").
   */
  plugins?: Plugin[];
}

export type Gateway = YogaServerInstance<GatewayServerContext, GatewayContext>;

/** Unknown statuses past those told one by one: one line at once, then at most one a minute, with the count. */
const UNKNOWN_PAST_LIMIT_INTERVAL_MS = 60_000;

export function createGateway(deps: GatewayDependencies): Gateway {
  const unknownPastLimit = new FailureLog(
    deps.logger,
    `upstream sent an execution status the schema does not know, past the ${TOLD_STATUSES_MAX} told one by one; serving it as UNKNOWN`,
    UNKNOWN_PAST_LIMIT_INTERVAL_MS,
  );
  const statuses = new UnknownStatusReporter(
    (note) => deps.logger.warn(note, 'upstream sent an execution status the schema does not know; serving it as UNKNOWN'),
    (note) => unknownPastLimit.observe('unknown status', { ...note }),
  );
  const yogaLogger = deps.logger.child({ component: 'yoga' });
  const errorLog = createErrorLog(deps.logger, yogaLogger);
  const contextDependencies = {
    executions: deps.executions,
    concurrencyPerRequest: deps.upstream.concurrencyPerRequest,
    requestBudgetMs: deps.upstream.requestBudgetMs,
    // One whole body always fits in a result; the same values many times over do not.
    maxServedChars: deps.upstream.maxBodyBytes,
    statuses,
    warningLog: new OncePerFieldLog(deps.logger, deps.metrics),
    live: deps.live,
  };
  const cors = corsPolicy(deps.security.corsOrigins, deps.refusedOrigin);
  const graphiqlOff = graphiqlOffMessage(deps.security);
  const graphiql = graphiqlOff === undefined ? graphiqlOptions(deps.graphiql ?? {}) : undefined;
  const documents = createDocumentCaches(deps.documentCacheMaxBytes);

  return createYoga<GatewayServerContext, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // The schema has no uploads; multipart bodies get 415 like any other unknown type.
    multipart: false,
    // The HTTP edge refuses oversized and unsized bodies before Yoga sees them
    // (src/server/http-edge.ts). Yoga's own limit pipes every body through a
    // TransformStream to enforce the same thing.
    maxRequestBodySize: false,
    // Parsed documents never go stale, so these caches have no TTL: Yoga's default
    // TTL caches arm a timer on lookups (lru-cache's clock), about one per request.
    // They are bounded by the heap they hold (./document-cache.ts).
    // Validation results are cached by ./validation-cache.ts, the last plugin.
    parserAndValidationCache: {
      documentCache: documents.documentCache,
      errorCache: documents.errorCache,
      validationCache: false,
    },
    // Expected errors are GraphQLErrors and pass; anything else becomes
    // "Unexpected error." with no stack or message, whatever NODE_ENV says.
    maskedErrors: { isDev: false, errorMessage: MASKED_MESSAGE, maskError: (error, message) => maskError(error, message, false) },
    logging: {
      // Yoga logs at debug several times per request: format only when it is on.
      debug: (...args) => yogaLogger.isLevelEnabled('debug') && yogaLogger.debug(args.map(String).join(' ')),
      info: (...args) => yogaLogger.info(args.map(String).join(' ')),
      warn: (...args) => yogaLogger.warn(args.map(String).join(' ')),
      error: errorLog.yogaError,
    },
    // TRUSTED_DOCUMENTS=only or INTROSPECTION=false: no GraphiQL (useNoGraphiQL answers its route).
    // Only for a GET that prefers the page to a result (./graphiql.ts): otherwise Yoga serves the operation.
    graphiql: graphiql ? graphiqlFor(graphiql) : false,
    renderGraphiQL,
    cors: (request) => cors(request),
    plugins: [
      // First: it takes envelop's hook lists for the fast lane before any later plugin's onYogaInit.
      ...(deps.fastLane ? [useEnvelopHooks()] : []),
      useRequestId(),
      // Before the spans, the metrics and the access log, which record the status it sets.
      useEventStreamErrorStatus(),
      ...(deps.operationSpans ? [useOperationSpans(deps.operationSpans)] : []),
      ...(deps.metrics ? [deps.metrics.plugin()] : []),
      useVaryOrigin(deps.security.corsOrigins),
      useNoStore(),
      // After useNoStore: GraphiQL's page is kept by browsers, and revalidated.
      ...(graphiql ? [useGraphiQLRevalidation(graphiql)] : []),
      useNoHopByHopHeaders(),
      // After useNoStore: an event stream's Cache-Control adds no-transform.
      useEventStreamHeaders(),
      // Before useRequestErrors, whose check of a form's query takes a `documentId` for one.
      useDocumentIdParameter(),
      useRequestErrors(),
      useStableErrorCodes(),
      // After the codes are final, so its lines carry the codes clients see.
      deps.accessLog.plugin,
      // After the access log has started the request's line, before anything reads the request.
      useEdgeRefusals(),
      ...(graphiqlOff === undefined ? [] : [useNoGraphiQL(graphiqlOff)]),
      // Before anything reads the document: a refused one is never parsed, validated or looked up in a cache.
      ...useTrustedDocuments({ ...deps.security, limits: deps.operationLimits }),
      // A request carrying Authorization or a JSON content type was preflighted by
      // the browser; anything "simple" must carry the CSRF header instead.
      useCsrfPrevention(),
      ...useOperationLimits({ ...deps.security, limits: deps.operationLimits }),
      useSpecRules(),
      useExecutionFinish({ hideSuggestions: !deps.security.fieldSuggestions, reportCost: deps.reportCost }),
      useRefusedUpdatesEnd(),
      ...(deps.fastLane ? [useCompiledExecution({ keep: documents.chargeCompiled })] : []),
      ...(deps.plugins ?? []),
      // After every plugin that reads the parsed document, before Yoga's own check, whose message it replaces.
      useOperationResolution(),
      // After every plugin that may replace a result's errors, before Yoga's masking (which Yoga adds after these).
      errorLog.plugin,
      // After every plugin that adds a rule: its key is the request's whole rule set.
      useValidationCache(),
      // Last: it closes a stream only when no plugin chose to serve it.
      useUnservedStreamClosing(),
      // After it: a subscription no answer can serve gets its 406, whatever its variables, as for any variable refused.
      useExactIdVariables(),
      // After it, for the same reason; before graphql-js, whose message for the variable it replaces.
      useMisnamedVariables(),
    ],
    context: (initial) => createContext(initial as RequestSource, contextDependencies),
  });
}
