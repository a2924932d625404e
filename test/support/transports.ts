/**
 * One GraphQL operation over each transport the gateway serves, for the suites
 * that hold a plugin to every transport (metrics, traces, the access log).
 */
import type { ExecutionResult } from 'graphql';
import { createClient, type Client, type SubscribePayload } from 'graphql-ws';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { AUTH, type Harness } from './harness.js';

export type TransportName = 'POST JSON' | 'GET' | 'application/graphql' | 'SSE (POST)' | 'SSE (GET)' | 'WebSocket';
export const TRANSPORTS: readonly TransportName[] = ['POST JSON', 'GET', 'application/graphql', 'SSE (POST)', 'SSE (GET)', 'WebSocket'];
export const STREAMING: readonly TransportName[] = ['SSE (POST)', 'SSE (GET)', 'WebSocket'];

/** An event stream's `next` payloads. */
export function nextEvents(text: string): ExecutionResult[] {
  return text
    .split('\n\n')
    .filter((block) => /^event: next$/m.test(block))
    .map((block) => JSON.parse(block.split('\n').find((line) => line.startsWith('data:'))!.slice(5)) as ExecutionResult);
}

/**
 * The results of one operation over graphql-ws's client, until `complete`. An operation refused before it ran (a request
 * error: its errors on no field's path) is answered with graphql-ws's `error` message instead, which the client throws
 * as the list of errors: returned as the one result, `{ errors }`, that an event stream's `next` carries for it.
 */
export async function resultsOverWebSocket(client: Client, payload: SubscribePayload): Promise<ExecutionResult[]> {
  const results: ExecutionResult[] = [];
  try {
    for await (const result of client.iterate(payload)) results.push(result as ExecutionResult);
  } catch (error) {
    if (!Array.isArray(error)) throw error;
    expect(results).toEqual([]);
    expect(error.map((each: { path?: unknown }) => each.path)).toEqual(error.map(() => undefined));
    return [{ errors: error } as ExecutionResult];
  }
  return results;
}

export interface Sent {
  results: ExecutionResult[];
  /** The x-request-id the gateway answered with (HTTP transports only). */
  requestId: string | null;
}

/**
 * Sends `query` with the demo token over `transport` and collects what came
 * back. `headers` go on every HTTP request, and on the WebSocket upgrade (they
 * then hold for every operation of the connection).
 */
export async function sendOver(harness: Harness, transport: TransportName, query: string, headers: Record<string, string> = {}): Promise<Sent> {
  const json = { authorization: AUTH, accept: 'application/graphql-response+json', ...headers };
  const stream = { authorization: AUTH, accept: 'text/event-stream', ...headers };
  const search = `/graphql?${new URLSearchParams({ query })}`;
  const post = (accept: Record<string, string>, contentType: string, body: string) =>
    harness.fetch('/graphql', { method: 'POST', headers: { ...accept, 'content-type': contentType }, body });
  const whole = async (response: Response): Promise<Sent> => ({ results: [(await response.json()) as ExecutionResult], requestId: response.headers.get('x-request-id') });
  const streamed = async (response: Response): Promise<Sent> => ({ results: nextEvents(await response.text()), requestId: response.headers.get('x-request-id') });
  switch (transport) {
    case 'POST JSON':
      return whole(await post(json, 'application/json', JSON.stringify({ query })));
    case 'GET':
      return whole(await harness.fetch(search, { headers: json }));
    case 'application/graphql':
      return whole(await post(json, 'application/graphql', query));
    case 'SSE (POST)':
      return streamed(await post(stream, 'application/json', JSON.stringify({ query })));
    case 'SSE (GET)':
      return streamed(await harness.fetch(search, { headers: stream }));
    case 'WebSocket': {
      class WithHeaders extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers });
        }
      }
      const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WithHeaders, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
      try {
        return { results: await resultsOverWebSocket(client, { query }), requestId: null };
      } finally {
        await client.dispose();
      }
    }
  }
}
