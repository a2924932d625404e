/** Node's fetch failures told with their cause in their message, for both clients (queries and watches). */
import type { FetchInput } from './fetch-types.js';

/**
 * `fetchFn` (the global fetch when undefined, read at each call: a page may replace it) with its failures, the call's
 * and the body's, naming their cause in their message: graphql-sse makes a NetworkError of the message alone, and
 * Node's fetch says only 'fetch failed' (or 'terminated' for a stream cut), its why (ECONNREFUSED, ENOTFOUND, a
 * certificate, 'other side closed') in a `cause` that was lost. A browser's 'Failed to fetch' carries none, and stays.
 */
export function causeTelling(fetchFn: typeof fetch | undefined): typeof fetch {
  return async (input: FetchInput, init?: RequestInit): Promise<Response> => {
    let response: Response;
    try {
      response = await (fetchFn ?? fetch)(input, init);
    } catch (error) {
      throw withCauseTold(error);
    }
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(withCauseTold(error));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** `error` with its cause's words after its own (`fetch failed (connect ECONNREFUSED 127.0.0.1:4000)`), the cause kept; `error` itself when it has no cause to tell. */
function withCauseTold(error: unknown): unknown {
  if (!(error instanceof Error) || !(error.cause instanceof Error)) return error;
  const { cause } = error;
  const code = (cause as { code?: unknown }).code;
  // Node's AggregateError (every address of a host refused) has no message of its own: its code, or its first error's, says it.
  const why = cause.message || (typeof code === 'string' ? code : '') || (cause instanceof AggregateError && cause.errors[0] instanceof Error ? cause.errors[0].message : '');
  if (why === '' || error.message.includes(why)) return error;
  return new TypeError(`${error.message} (${why})`, { cause });
}
