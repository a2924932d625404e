/**
 * `watchExecution` yields each event once, across the subscriptions it makes again. Upstream lists events by
 * `createdAt`, so an event that reaches it late is inserted before events it had listed; a watch resumed from a cursor
 * past such an insertion starts where upstream's order and the watch's part, and may send again events the watch had
 * delivered (README "Live executions", Resume without gaps). The helper resumed from its last cursor and yielded
 * them again: a page appending `newEvents` showed `evt_2` twice. It now drops, by cursor, events it yielded already.
 */
import { afterEach, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution, type ExecutionUpdate, type WatchError } from '../src/client/index.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';
import { event, reading, Script, status } from './support/live12-script.js';
import { liveEnv, waitFor } from './support/live.js';

let gateway: BehindScripted | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

it.each(['sse', 'websocket'] as const)('live12: resumed past an inserted event over %s, each event is yielded once, in order', async (transport) => {
  const script = new Script();
  const id = 'ex_reorder_resume';
  const [e1, e2, e3] = [event(id, 1), event(id, 2), event(id, 3)];
  // Reaches upstream after evt_2, created before it: upstream lists it between evt_1 and evt_2.
  const late = { ...event(id, 9), id: 'evt_late', createdAt: new Date(Date.parse(e1!.createdAt) + 500).toISOString() };
  script.then(
    id,
    reading(id, 'workflow_running', [e1!]),
    reading(id, 'workflow_running', [e1!, e2!]),
    reading(id, 'workflow_running', [e1!, late, e2!]),
    reading(id, 'workflow_running', [e1!, late, e2!]),
    // A status the contract does not name ends the gateway's watch: the helper subscribes again from its last cursor.
    status(410),
  );
  script.steady(id, reading(id, 'workflow_succeeded', [e1!, late, e2!, e3!]));
  gateway = await gatewayBehindScripted(script.listener, liveEnv());
  const updates: ExecutionUpdate[] = [];
  const retries: unknown[] = [];
  for await (const update of watchExecution(gateway.url, 'Bearer token-a', id, { transport, webSocketImpl: WebSocket, retryDelayMs: 20, onRetry: (error) => retries.push(error) })) {
    updates.push(update);
  }
  expect(retries.map((error) => (error as WatchError).code)).toEqual(['UPSTREAM_BAD_RESPONSE']);
  expect(updates.flatMap((update) => update.newEvents.map((edge) => edge.node.id))).toEqual(['evt_2', 'evt_late', 'evt_3']);
  expect(updates.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_SUCCEEDED' } });
  // Two subscriptions, and nothing left watching once the execution ended.
  expect(new Set(script.seen.get(id)!.map((seen) => seen.authorization))).toEqual(new Set(['Bearer token-a']));
  await waitFor(() => gateway!.instance.live.counts.pollers === 0 && gateway!.instance.live.counts.subscriptions === 0, 'nothing live');
});
