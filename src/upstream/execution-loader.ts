/**
 * The per-request execution loader. Contract (as DataLoader's): the batch
 * function returns one ExecutionRecord or one Error per key, in key order, and
 * never rejects as a whole, so one failing id never fails its siblings.
 *
 * It is created for each GraphQL request and bound to that request's caller, so
 * nothing it caches can be seen by another request or another token.
 */
import DataLoader from 'dataloader';
import pMap from 'p-map';
import { unauthenticated } from '../errors.js';
import type { ExecutionRecord, ExecutionsClient, UpstreamCall } from './executions-client.js';

export type ExecutionLoader = DataLoader<string, ExecutionRecord>;

export interface ExecutionLoaderOptions {
  client: ExecutionsClient;
  /** The caller, or null when the request carried no Authorization header. */
  call: UpstreamCall | null;
  /** Upstream calls this request may have in flight at once. */
  concurrency: number;
  /** Sees every loaded record once, e.g. to report statuses the schema does not know yet. */
  onLoaded?: (record: ExecutionRecord) => void;
}

export function createExecutionLoader({ client, call, concurrency, onLoaded }: ExecutionLoaderOptions): ExecutionLoader {
  return new DataLoader<string, ExecutionRecord>(async (ids) => {
    // No token, no upstream call: every key fails the same way.
    if (!call) return ids.map(() => unauthenticated());
    return pMap(
      ids,
      (id) =>
        client.getExecution(id, call).then(
          (record) => {
            onLoaded?.(record);
            return record;
          },
          (error: unknown) => toError(error),
        ),
      { concurrency },
    );
  });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
