/**
 * The typed client for frontends and tests: graphql-request plus the documents
 * and types graphql-codegen generates from schema/operations/*.graphql.
 *
 *   const client = createGatewayClient('http://localhost:4000/graphql', 'Bearer …');
 *   const { execution } = await client.request(ExecutionStatusDocument, { id: 'ex_demo_4' });
 */
import { GraphQLClient } from 'graphql-request';

export * from './generated.js';
export { watchExecution, WatchError, type ExecutionUpdate, type WatchOptions } from './live.js';

export function createGatewayClient(endpoint: string, authorization?: string, headers: Record<string, string> = {}): GraphQLClient {
  return new GraphQLClient(endpoint, {
    headers: authorization ? { ...headers, authorization } : headers,
  });
}
