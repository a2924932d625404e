/**
 * createGateway builds the Yoga instance from its dependencies; it never
 * listens (src/server.ts does), so tests call `yoga.fetch` without a port.
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { DocumentNode, ExecutionResult, GraphQLError } from 'graphql';
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { createContext, rerunContext, type GatewayContext, type IncomingRequest } from './context.js';
import { UnknownStatusReporter } from './domain/execution-status.js';
import type { Logger } from './logger.js';
import { schema } from './schema/index.js';
import { corsPolicy, type CorsPolicy } from './server/cors.js';
import { graphiqlOptions, renderGraphiQL, type GraphiQLSettings } from './server/graphiql.js';
import { useStableErrorCodes } from './server/error-codes.js';
import { useOperationLimits, withoutSuggestions } from './server/operation-limits.js';
import { PreparedOperations, type PreparedStats } from './server/prepared-operations.js';
import { useExecutionFinish, useRequestIdHeader, withUpstreamCost } from './server/request-plugins.js';
import type { ExecutionsClient } from './upstream/executions-client.js';
import { SharedExecutions, type SharedExecutionsOptions } from './upstream/shared-executions.js';

export interface GatewayDependencies {
  client: ExecutionsClient;
  logger: Logger;
  concurrencyPerRequest: number;
  /** Upstream time one GraphQL request may spend in all; defaults to 15 s. */
  requestBudgetMs?: number;
  graphiql?: GraphiQLSettings;
  security?: Partial<SecuritySettings>;
  /** Sharing and caching of executions across requests; terminal ones 60 s by default. */
  cache?: Partial<SharedExecutionsOptions>;
  /** Report each request's upstream cost in `extensions.upstream` (default on). */
  upstreamExtensions?: boolean;
}

const DEFAULT_CACHE: SharedExecutionsOptions = { terminalTtlMs: 60_000, activeTtlMs: 0, maxBytes: 256 * 1024 * 1024 };

export interface SecuritySettings {
  /** Serve schema introspection (bounded in depth either way). */
  introspection: boolean;
  /** Hide "Did you mean …?" field suggestions (on in production). */
  blockFieldSuggestions: boolean;
  /** Origins allowed by CORS; empty closes CORS. */
  corsOrigins: string[];
}

const DEFAULT_SECURITY: SecuritySettings = {
  introspection: true,
  blockFieldSuggestions: process.env.NODE_ENV === 'production',
  corsOrigins: [],
};

/** What the direct path needs beside Yoga to answer as Yoga does. */
export interface GatewayExtras {
  /** The CORS policy, applied exactly as Yoga applies it. */
  readonly corsPolicy: CorsPolicy;
  /** Runs a request whose document Yoga already accepted; undefined leaves it to Yoga. */
  runPrepared(params: Record<string, unknown>, request: IncomingRequest): Promise<ExecutionResult | undefined>;
  preparedStats(): PreparedStats;
}

export type Gateway = YogaServerInstance<Record<string, unknown>, GatewayContext> & GatewayExtras;

/** Yoga's message for an error it hides. */
const MASKED_MESSAGE = 'Unexpected error.';

export function createGateway(deps: GatewayDependencies): Gateway {
  const unknownStatuses = new UnknownStatusReporter((raw) =>
    deps.logger.warn({ rawStatus: raw }, 'upstream sent an execution status the schema does not know; serving it as UNKNOWN'),
  );
  const yogaLogger = deps.logger.child({ component: 'yoga' });
  const security = { ...DEFAULT_SECURITY, ...deps.security };
  const executions = new SharedExecutions(deps.client, { ...DEFAULT_CACHE, ...deps.cache });
  const cors = corsPolicy(security.corsOrigins);
  const contextDependencies = {
    executions,
    concurrencyPerRequest: deps.concurrencyPerRequest,
    requestBudgetMs: deps.requestBudgetMs ?? 15_000,
    unknownStatuses,
  };
  const logYogaError = (...args: unknown[]) =>
    yogaLogger.error({ err: args.find((arg) => arg instanceof Error) }, args.filter((arg) => !(arg instanceof Error)).map(String).join(' '));
  // What every result gets once its operation has run, on Yoga's path and on prepared operations'.
  const finish = (result: ExecutionResult, context: GatewayContext): ExecutionResult => {
    context.dispose();
    if (security.blockFieldSuggestions) withoutSuggestions(result);
    return deps.upstreamExtensions === false ? result : withUpstreamCost(result, context);
  };
  // Expected errors are GraphQLErrors and pass; anything else becomes
  // "Unexpected error." with no stack or message, whatever NODE_ENV says.
  const maskErrors = (errors: readonly GraphQLError[]): GraphQLError[] =>
    errors.map((error) => {
      const masked = maskError(error, MASKED_MESSAGE, false) as GraphQLError;
      if (masked !== error) logYogaError(error);
      return masked;
    });
  const prepared = new PreparedOperations<GatewayContext>({ schema, finish, maskErrors, rerunContext, maxDocuments: 1_024 });

  const yoga = createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // The HTTP server refuses oversized and unsized bodies before Yoga sees them
    // (src/server/http-server.ts). Yoga's own limit pipes every body through a
    // TransformStream, ~5% of a status poll's CPU, to enforce the same thing.
    maxRequestBodySize: false,
    // Parsed documents never go stale, so these caches have no TTL: Yoga's default
    // TTL caches arm a timer on lookups (lru-cache's clock), about one per request.
    parserAndValidationCache: {
      documentCache: new LRUCache<string, DocumentNode>({ max: 1_024 }),
      errorCache: new LRUCache<string, Error>({ max: 1_024 }),
    },
    // Yoga's own masking function, which prepared operations use as well.
    maskedErrors: { isDev: false, errorMessage: MASKED_MESSAGE, maskError: (error, message) => maskError(error, message, false) },
    logging: {
      // Yoga logs at debug several times per request: format only when it is on.
      debug: (...args) => yogaLogger.isLevelEnabled('debug') && yogaLogger.debug(args.map(String).join(' ')),
      info: (...args) => yogaLogger.info(args.map(String).join(' ')),
      warn: (...args) => yogaLogger.warn(args.map(String).join(' ')),
      error: logYogaError,
    },
    graphiql: graphiqlOptions(deps.graphiql ?? {}),
    renderGraphiQL,
    cors: (request) => cors(request),
    plugins: [
      useRequestIdHeader(),
      useStableErrorCodes(),
      // A request carrying Authorization or a JSON content type was preflighted by
      // the browser; anything "simple" must carry the CSRF header instead.
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      ...useOperationLimits(security),
      useExecutionFinish(finish),
      prepared.plugin(),
    ],
    context: ({ request }) => createContext(request, contextDependencies),
  });
  return Object.assign(yoga, {
    corsPolicy: cors,
    runPrepared: (params: Record<string, unknown>, request: IncomingRequest) =>
      prepared.run(params, () => createContext(request, contextDependencies)),
    preparedStats: () => prepared.stats(),
  });
}
