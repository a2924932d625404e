/**
 * README "Client caches": event ids are not unique (upstream may repeat one,
 * and derived `#<position>` ids repeat across executions), so a normalized
 * cache must keep events inside the execution that lists them. Apollo
 * Client's InMemoryCache, over HTTP to a real gateway and fake upstream, with
 * the type policy the README gives.
 */
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution, type StoredExecution } from '../src/demo/demo-data.js';
import { AUTH, Harness } from './support/harness.js';

/** An execution whose events carry the given ids (undefined: none sent) and messages. */
function withEvents(id: string, events: Array<{ id?: string; message: string }>): StoredExecution {
  const made = makeExecution({ id, status: 'workflow_succeeded', eventCount: events.length });
  return {
    execution: made.execution,
    events: made.events.map((event, index) => {
      const { id: _upstreamId, ...rest } = event;
      const wanted = events[index]!;
      return { ...rest, ...(wanted.id === undefined ? {} : { id: wanted.id }), message: wanted.message } as (typeof made.events)[number];
    }),
  };
}

const MESSAGES = gql`
  query Messages($id: ID!) {
    execution(id: $id) {
      id
      events(first: 10) {
        edges {
          cursor
          node {
            id
            message
          }
        }
      }
    }
  }
`;

type Messages = { execution: { id: string; events: { edges: Array<{ cursor: string; node: { id: string; message: string } }> } } };

describe('a normalized client cache with the README type policy', () => {
  let harness: Harness;
  let apollo: ApolloClient;

  beforeAll(async () => {
    harness = await Harness.start({
      upstream: {
        executions: [
          withEvents('ex_dup_1', [
            { id: 'ev_same', message: 'first' },
            { id: 'ev_same', message: 'second' },
          ]),
          withEvents('ex_noid_1', [{ message: 'a-zero' }, { message: 'a-one' }]),
          withEvents('ex_noid_2', [{ message: 'b-zero' }, { message: 'b-one' }]),
        ],
      },
    });
    apollo = new ApolloClient({
      link: new HttpLink({ uri: harness.url, headers: { authorization: AUTH } }),
      cache: new InMemoryCache({ typePolicies: { ExecutionEvent: { keyFields: false } } }),
    });
  });
  afterAll(async () => {
    apollo.stop();
    await harness.close();
  });

  const messagesOf = async (id: string, fetchPolicy: 'network-only' | 'cache-only') => {
    const { data } = await apollo.query<Messages>({ query: MESSAGES, variables: { id }, fetchPolicy });
    return data!.execution.events.edges.map(({ node }) => `${node.id}=${node.message}`);
  };

  it('keeps two events that share an id apart', async () => {
    expect(await messagesOf('ex_dup_1', 'network-only')).toEqual(['ev_same=first', 'ev_same=second']);
  });

  it('keeps derived ids of two executions apart, in the cache as on the wire', async () => {
    expect(await messagesOf('ex_noid_1', 'network-only')).toEqual(['#0=a-zero', '#1=a-one']);
    expect(await messagesOf('ex_noid_2', 'network-only')).toEqual(['#0=b-zero', '#1=b-one']);
    // Read back from the cache after the other execution was written to it.
    expect(await messagesOf('ex_noid_1', 'cache-only')).toEqual(['#0=a-zero', '#1=a-one']);
    expect(harness.upstream.requests).toHaveLength(3);
  });

  it('hands out a distinct cursor for every event, across executions too', async () => {
    const cursors = [];
    for (const id of ['ex_dup_1', 'ex_noid_1', 'ex_noid_2']) {
      const { data } = await apollo.query<Messages>({ query: MESSAGES, variables: { id }, fetchPolicy: 'cache-only' });
      cursors.push(...data!.execution.events.edges.map((edge) => edge.cursor));
    }
    expect(new Set(cursors).size).toBe(6);
  });
});
