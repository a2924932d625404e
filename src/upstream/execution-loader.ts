/**
 * The per-request execution loader. Contract (as DataLoader's): the batch
 * function returns one Execution or one Error per key, in key order, and never
 * rejects as a whole, so one failing id never fails its siblings.
 *
 * It is created for each GraphQL request and bound to that request's scope (its
 * caller, cancellation, cost and limits), so nothing it caches can be seen by
 * another request or another token.
 */
import DataLoader from 'dataloader';
import pMap from 'p-map';
import type { Execution } from '../domain/execution.js';
import { rawStatusOf } from '../domain/execution-status.js';
import { unauthenticated, type TokenInUrl } from '../errors.js';
import type { Caller } from './caller.js';
import type { LoadScope, SharedExecutions } from './shared-executions.js';

/**
 * DataLoader over this request's executions, whose `load` hands a repeated id
 * (the same execution under several aliases) the first load's own promise.
 * DataLoader wraps each cache hit in a new promise, resolved once the batch is
 * dispatched: two more microtasks and three closures per alias, for the same
 * value. The cache map is DataLoader's own (`cacheMap`), so `clear` and
 * `prime` still apply.
 */
export class ExecutionLoader extends DataLoader<string, Execution> {
  readonly #loaded: Map<string, Promise<Execution>>;
  readonly #refusal: ((id: string) => Error | undefined) | undefined;

  /** `refusal`: the error `load` gives an id before any upstream call, or undefined (`refusedBeforeCall`). */
  constructor(batch: DataLoader.BatchLoadFn<string, Execution>, refusal?: (id: string) => Error | undefined) {
    const loaded = new Map<string, Promise<Execution>>();
    super(batch, { cacheMap: loaded });
    this.#loaded = loaded;
    this.#refusal = refusal;
  }

  /**
   * The error `load` would give `id` before any upstream call: UNAUTHENTICATED without a token, BAD_USER_INPUT for an
   * id it may not ask for (empty, outside EXECUTION_ID_PATTERN); undefined otherwise. No call made. For a refusal that
   * comes before `load` (src/schema/refused-pages.ts), so these are named first rather than the page's.
   */
  refusedBeforeCall(id: string): Error | undefined {
    return this.#refusal?.(id);
  }

  override load(id: string): Promise<Execution> {
    return this.#loaded.get(id) ?? super.load(id);
  }
}

/** What the loader needs of its request: the caller (null without Authorization), and the execution limit. */
export interface LoaderScope extends LoadScope {
  readonly caller: Caller | null;
  /** Counts one more distinct execution; throws past the request's limit. */
  takeExecution(): void;
  /** Told each time an execution is handed to the request (src/request/scope.ts). */
  readonly onUpstreamReading?: ((callerKey: string) => void) | undefined;
  /** connectionParams' key names when none held a token the gateway reads, for the UNAUTHENTICATED message. */
  readonly unreadTokenParams?: readonly string[] | undefined;
  /** The URL's token-like parameter names, for the UNAUTHENTICATED message (src/request/url-token.ts). */
  readonly tokenInUrl?: TokenInUrl | undefined;
}

export interface ExecutionLoaderOptions {
  executions: SharedExecutions;
  scope: LoaderScope;
  /** Upstream calls this request may have in flight at once. */
  concurrency: number;
  /** Sees the status of every loaded execution, e.g. to report statuses the schema does not know yet. */
  statuses?: { observe(status: string | null): void };
}

/**
 * The caller `load` asks upstream for, or what it refuses before any call, in its order: no token, then an id
 * upstream may not be asked for (`refusedBeforeCall` and `load` both ask it, so they refuse alike).
 */
function callerOrRefusal(id: string, { executions, scope }: ExecutionLoaderOptions): Caller | Error {
  if (!scope.caller) return unauthenticated(scope.unreadTokenParams, scope.tokenInUrl);
  try {
    executions.assertAllowedId(id);
    return scope.caller;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

async function load(id: string, options: ExecutionLoaderOptions): Promise<Execution | Error> {
  const { executions, scope, statuses } = options;
  // A refused id costs no call, so it does not count against the limit below.
  const caller = callerOrRefusal(id, options);
  if (caller instanceof Error) return caller;
  try {
    // Aliases times `executions(ids)` could otherwise turn one request into thousands of upstream calls.
    scope.takeExecution();
    const execution = await executions.get(id, caller, scope);
    statuses?.observe(rawStatusOf(execution));
    scope.onUpstreamReading?.(caller.key);
    return execution;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export function createExecutionLoader(options: ExecutionLoaderOptions): ExecutionLoader {
  // A batch within the limit needs no limiter: most requests load one execution.
  return new ExecutionLoader(
    (ids) => (ids.length <= options.concurrency ? Promise.all(ids.map((id) => load(id, options))) : pMap(ids, (id) => load(id, options), { concurrency: options.concurrency })),
    (id) => {
      const caller = callerOrRefusal(id, options);
      return caller instanceof Error ? caller : undefined;
    },
  );
}
