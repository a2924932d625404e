/**
 * createGateway builds the Yoga instance from its dependencies; it never
 * listens (src/server.ts does), so tests call `yoga.fetch` without a port.
 */
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { createContext, requestIdOf, type GatewayContext } from './context.js';
import { UnknownStatusReporter } from './domain/execution-status.js';
import type { Logger } from './logger.js';
import { schema } from './schema/index.js';
import { graphiqlOptions, renderGraphiQL, type GraphiQLSettings } from './server/graphiql.js';
import type { ExecutionsClient } from './upstream/executions-client.js';

export interface GatewayDependencies {
  client: ExecutionsClient;
  logger: Logger;
  concurrencyPerRequest: number;
  graphiql?: GraphiQLSettings;
}

export type Gateway = YogaServerInstance<Record<string, unknown>, GatewayContext>;

/** Echoes the tracing id (the client's or a generated one) so callers can quote it. */
function useRequestIdHeader(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}

export function createGateway(deps: GatewayDependencies): Gateway {
  const unknownStatuses = new UnknownStatusReporter((raw) =>
    deps.logger.warn({ rawStatus: raw }, 'upstream sent an execution status the schema does not know; serving it as UNKNOWN'),
  );
  const yogaLogger = deps.logger.child({ component: 'yoga' });
  return createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // Expected errors are GraphQLErrors and pass; anything else becomes
    // "Unexpected error." with no stack or message, whatever NODE_ENV says.
    maskedErrors: { isDev: false },
    logging: {
      debug: (...args) => yogaLogger.debug(args.map(String).join(' ')),
      info: (...args) => yogaLogger.info(args.map(String).join(' ')),
      warn: (...args) => yogaLogger.warn(args.map(String).join(' ')),
      error: (...args) => yogaLogger.error({ err: args.find((arg) => arg instanceof Error) }, args.filter((arg) => !(arg instanceof Error)).map(String).join(' ')),
    },
    graphiql: graphiqlOptions(deps.graphiql ?? {}),
    renderGraphiQL,
    plugins: [useRequestIdHeader()],
    context: ({ request }) =>
      createContext(request, {
        client: deps.client,
        concurrencyPerRequest: deps.concurrencyPerRequest,
        unknownStatuses,
      }),
  });
}
