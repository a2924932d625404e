/**
 * An execution held as the gateway holds one, for measuring what it keeps (`npm run bench:heap`,
 * test/entry-bytes.test.ts): read from upstream's bytes as ExecutionsClient#parseExecution reads
 * them, and paged as queries page it, which builds the events index that rides on it.
 */
import { pageEvents } from '../../src/domain/event-pages.js';
import type { Execution } from '../../src/domain/execution.js';
import { decodeBody } from '../../src/upstream/body-text.js';
import { readExecution } from '../../src/upstream/envelope.js';

/** `bytes` (upstream's 200 envelope for `id`) read as the gateway reads it; each call decodes afresh, so no copy shares another's objects. */
export function readAsGateway(bytes: Buffer, id: string): Execution {
  const execution = readExecution(JSON.parse(decodeBody(bytes, 'application/json').text), id, bytes.length);
  if ('unusable' in execution) throw new Error(`${id}: ${execution.unusable}`);
  return execution;
}

/** Pages the events as queries do: both orders, a cursor and a level filter; with `typeFilter`, an event-type filter too (one more remembered filter). */
export function pageAsQueries(execution: Execution, { typeFilter = false } = {}): void {
  const first = pageEvents(execution, { first: 20 });
  pageEvents(execution, { first: 20, after: first.pageInfo.endCursor });
  pageEvents(execution, { last: 20, order: 'DESC' });
  pageEvents(execution, { first: 20, filter: { levels: ['warn', 'error'] } });
  if (typeFilter) pageEvents(execution, { last: 20, order: 'DESC', filter: { eventTypes: ['node.failed'] } });
}
