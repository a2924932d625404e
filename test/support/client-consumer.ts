/**
 * A frontend's use of the typed client, type-checked by test/client-types.test.ts
 * under the stricter settings frontend projects turn on (exactOptionalPropertyTypes
 * among them). Never run: only its types matter.
 */
import {
  createGatewayClient,
  ExecutionEventsDocument,
  ExecutionsDocument,
  gatewayErrors,
  watchExecution,
  WatchError,
  type ErrorCode,
  type ExecutionEventsQuery,
  type ExecutionStatus,
  type GatewayError,
} from '../../src/client/index.js';

export async function consume(signal: AbortSignal | undefined, eventsAfter: string | undefined): Promise<void> {
  const client = createGatewayClient('http://127.0.0.1:4000/graphql', 'Bearer demo-token');
  const { data, errors, extensions } = await client.requestResult(ExecutionsDocument, { ids: ['ex_demo_1', 'ex_missing'] });
  data?.executions.map((each) => each?.status);
  const missing: GatewayError[] = errors.filter((error) => error.extensions?.code === 'NOT_FOUND');
  const retryable = errors.some((error) => error.extensions?.code === 'UPSTREAM_UNAVAILABLE' || error.extensions?.code === 'UPSTREAM_TIMEOUT');
  // @ts-expect-error a code the gateway never sends: the codes are a union, so a typo does not compile.
  errors.some((error) => error.extensions?.code === 'NOT_FOUNDD');
  for (const warning of extensions?.warnings ?? []) {
    // @ts-expect-error the warning codes are a union too.
    if (warning.code === 'UNREADABLE') void warning.path;
  }
  void missing;
  void retryable;

  // Aborted when the page no longer needs it; variables are required by the document, and typed.
  const leaving = new AbortController();
  const one = await client.requestResult({ document: ExecutionsDocument, variables: { ids: ['ex_demo_1'] }, signal: signal ?? leaving.signal });
  void one.data?.executions;
  // @ts-expect-error the document requires `ids`: the options form does not let it be left out.
  void client.requestResult({ document: ExecutionsDocument, signal });

  // Request headers in each form fetch takes, typed as fetch types them (the DOM's, or undici's in a project without it).
  void client.requestResult({ document: ExecutionsDocument, variables: { ids: ['ex_demo_1'] }, requestHeaders: { 'x-request-id': 'r1' } });
  void client.requestResult(ExecutionsDocument, { ids: ['ex_demo_1'] }, new Headers({ 'x-request-id': 'r2' }));
  void client.request(ExecutionsDocument, { ids: ['ex_demo_1'] }, [['x-request-id', 'r3']]);
  // @ts-expect-error a header's value is a string: the headers are typed, in either project.
  void client.requestResult(ExecutionsDocument, { ids: ['ex_demo_1'] }, { 'x-request-id': 4 });

  // What `request` throws (a ClientError, whose `response.errors` graphql-request leaves untyped), read with a switch on the code.
  try {
    await client.request(ExecutionsDocument, { ids: ['ex_missing'] });
  } catch (error) {
    for (const { extensions, path } of gatewayErrors(error)) {
      switch (extensions?.code) {
        case 'NOT_FOUND':
          void path?.[1];
          break;
        case 'UPSTREAM_UNAVAILABLE':
        case 'UPSTREAM_TIMEOUT':
          break;
        // @ts-expect-error a code the gateway never sends: the switch does not compile either.
        case 'NOT_FOUNDD':
          break;
      }
    }
    const codes: Array<ErrorCode | undefined> = gatewayErrors(error).map((each) => each.extensions?.code);
    void codes;
    // The pause upstream asked for, which the message tells the caller to honour: a number, no cast.
    const waitMs: number | undefined = gatewayErrors(error).find((each) => each.extensions?.code === 'UPSTREAM_UNAVAILABLE')?.extensions?.retryAfterMs;
    void waitMs;
  }

  let after: string | null = null;
  do {
    const page: ExecutionEventsQuery = await client.request(ExecutionEventsDocument, { id: 'ex_demo_1', first: 100, after });
    after = page.execution?.events.pageInfo.hasNextPage ? page.execution.events.pageInfo.endCursor : null;
  } while (after);

  try {
    // Options a page passes straight from its state, undefined when unset.
    for await (const update of watchExecution('http://127.0.0.1:4000/graphql', 'Bearer demo-token', 'ex_demo_live', { signal, eventsAfter, onOutage: ({ code }) => void code })) {
      const status: ExecutionStatus = update.execution.status;
      void status;
    }
  } catch (error) {
    if (error instanceof WatchError && (error.code === 'NOT_FOUND' || error.code === 'FORBIDDEN')) return;
    // @ts-expect-error nor does a WatchError's code take any string.
    if (error instanceof WatchError && error.code === 'NOTFOUND') return;
    throw error;
  }
}
