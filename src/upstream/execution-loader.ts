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
import { badUserInput, unauthenticated } from '../errors.js';
import type { ExecutionRecord, UpstreamCall } from './executions-client.js';
import type { SharedExecutions, UpstreamStats } from './shared-executions.js';

export type ExecutionLoader = DataLoader<string, ExecutionRecord>;

export interface ExecutionLoaderOptions {
  executions: SharedExecutions;
  /** The caller, or null when the request carried no Authorization header. */
  call: UpstreamCall | null;
  /** The caller's identity for anything shared beyond this request. */
  callerKey: string;
  /** This request's upstream cost, updated as executions load. */
  stats: UpstreamStats;
  /** Upstream calls this request may have in flight at once. */
  concurrency: number;
  /** Distinct executions one request may load; beyond, each further id fails with BAD_USER_INPUT. */
  maxExecutions: number;
  /** Sees every loaded record once, e.g. to report statuses the schema does not know yet. */
  onLoaded?: (record: ExecutionRecord) => void;
}

export function createExecutionLoader({ executions, call, callerKey, stats, concurrency, maxExecutions, onLoaded }: ExecutionLoaderOptions): ExecutionLoader {
  // Aliases times `executions(ids)` could otherwise turn one request into thousands of upstream calls.
  let loaded = 0;
  const load = async (id: string): Promise<ExecutionRecord | Error> => {
    if (!call) return unauthenticated();
    if (++loaded > maxExecutions) {
      return badUserInput(`This request asks for more than ${maxExecutions} distinct executions; split it into several requests.`);
    }
    try {
      const record = await executions.get(id, call, callerKey, stats);
      onLoaded?.(record);
      return record;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  };
  // A batch within the limit needs no limiter: most requests load one execution.
  return new DataLoader<string, ExecutionRecord>((ids) => (ids.length <= concurrency ? Promise.all(ids.map(load)) : pMap(ids, load, { concurrency })));
}
