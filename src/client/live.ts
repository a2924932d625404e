/**
 * Watching an execution from a frontend or a script: the typed subscription
 * over Server-Sent Events with graphql-sse, resuming where it left off.
 *
 *   for await (const update of watchExecution(url, 'Bearer …', 'ex_demo_live')) {
 *     render(update.execution.status, update.newEvents);
 *   }
 *
 * It yields every update until the execution ends. When the connection drops it
 * waits and subscribes again with `eventsAfter` set to the last update's
 * `cursor`, so no event is missed or repeated; so it does when the gateway
 * ends the stream with SHUTTING_DOWN (it drains; another replica answers
 * the next subscription), and when a watch reaches LIVE_MAX_WATCH_MS
 * (`endReason: WATCH_TIME_LIMIT`: that update is yielded, and the watch goes
 * on). It returns after the update that ends the execution. Errors that end a watch
 * (NOT_FOUND, UNAUTHENTICATED, FORBIDDEN, TOO_MANY_SUBSCRIPTIONS, BAD_USER_INPUT,
 * and a request the gateway refuses with a 4xx other than 408 and 429, such as
 * a BAD_REQUEST for a variable that does not fit its type) are thrown as
 * WatchError; an update carrying UPSTREAM_UNAVAILABLE is passed to `onOutage`
 * and the watch goes on.
 */
import { print } from 'graphql';
import { createClient, NetworkError } from 'graphql-sse';
import { ExecutionUpdatesDocument, type ExecutionEventFilter, type ExecutionUpdatesSubscription } from './generated.js';

export type ExecutionUpdate = ExecutionUpdatesSubscription['executionUpdates'];

export interface WatchOptions {
  /** Start after this event cursor (from `events` or an earlier update). */
  eventsAfter?: string | null;
  filter?: ExecutionEventFilter | null;
  /** Stops the watch. */
  signal?: AbortSignal;
  /** Pause before subscribing again after the connection dropped, in ms (default 1,000). */
  retryDelayMs?: number;
  /** Told when an update carries UPSTREAM_UNAVAILABLE (upstream failing for a while; the watch goes on). */
  onOutage?(error: { message: string; code: unknown }): void;
  /** Extra request headers, e.g. `x-request-id`. */
  headers?: Record<string, string>;
}

/** An error that ended the watch, with the gateway's `extensions.code`. */
export class WatchError extends Error {
  override name = 'WatchError';
  constructor(
    message: string,
    readonly code: unknown,
  ) {
    super(message);
  }
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: unknown };
}

/** Statuses that say the same request may succeed later: the request timed out, or came too fast. */
const RETRIED_CLIENT_STATUSES = new Set([408, 429]);

/**
 * The WatchError for an answer no retry can change (a 4xx: a variable that does
 * not fit its type, a wrong URL), with the code of the GraphQL error in its body,
 * JSON or an event stream; undefined for anything worth retrying. graphql-sse
 * reports every non-2xx answer as a NetworkError and would retry it.
 */
async function refused(error: unknown): Promise<WatchError | undefined> {
  const response = error instanceof NetworkError ? (error.response as Response | undefined) : undefined;
  if (!response || response.status < 400 || response.status >= 500 || RETRIED_CLIENT_STATUSES.has(response.status)) return undefined;
  const text = await response.text().catch(() => '');
  const first = errorsIn(text)[0];
  return new WatchError(first?.message ?? `The gateway answered ${response.status}.`, first?.extensions?.code);
}

/** The GraphQL errors of a body: a JSON result, or the `data:` of each event of a stream. */
function errorsIn(text: string): GraphQLErrorShape[] {
  const results = text.trimStart().startsWith('{') ? [text] : text.split('\n').flatMap((line) => (line.startsWith('data:') ? [line.slice(5)] : []));
  return results.flatMap((result) => {
    try {
      return ((JSON.parse(result) as { errors?: GraphQLErrorShape[] }).errors ?? []).filter((each) => typeof each?.message === 'string');
    } catch {
      return [];
    }
  });
}

export async function* watchExecution(endpoint: string, authorization: string, id: string, options: WatchOptions = {}): AsyncGenerator<ExecutionUpdate> {
  let eventsAfter = options.eventsAfter ?? null;
  const query = print(ExecutionUpdatesDocument);
  for (;;) {
    if (options.signal?.aborted) return;
    const client = createClient({ url: endpoint, headers: { ...options.headers, authorization }, retryAttempts: 0 });
    const results = client.iterate<ExecutionUpdatesSubscription>({ query, variables: { id, eventsAfter, filter: options.filter ?? null } });
    const stop = () => void results.return?.();
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const result of results) {
        const errors = (result.errors ?? []) as unknown as GraphQLErrorShape[];
        const update = result.data?.executionUpdates;
        if (!update) {
          // The gateway drains: subscribe again, from the last cursor.
          if (errors.some((error) => error.extensions?.code === 'SHUTTING_DOWN')) break;
          const outage = errors.find((error) => error.extensions?.code === 'UPSTREAM_UNAVAILABLE');
          if (outage) {
            options.onOutage?.({ message: outage.message, code: outage.extensions?.code });
            continue;
          }
          const first = errors[0];
          throw new WatchError(first?.message ?? 'The watch ended with an error.', first?.extensions?.code);
        }
        if (update.cursor) eventsAfter = update.cursor;
        // The watch reached the gateway's time limit while the execution still runs: subscribe again, from the last cursor.
        const timedOut = update.isFinal && update.endReason === 'WATCH_TIME_LIMIT';
        yield update;
        if (timedOut) break;
        if (update.isFinal) return;
      }
      // The stream completed without a final update: the connection ended early.
    } catch (error) {
      if (error instanceof WatchError) throw error;
      const refusal = await refused(error);
      if (refusal) throw refusal;
      // A dropped connection: subscribe again from the last cursor.
    } finally {
      options.signal?.removeEventListener('abort', stop);
      client.dispose();
    }
    if (options.signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 1_000));
  }
}
