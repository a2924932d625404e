/**
 * An operation over a WebSocket that the drain cut (SHUTDOWN_GRACE_MS ran out with it still running, and its socket
 * was dropped) is reported as the gateway's shutdown cut it, in the vocabulary of an HTTP request the drain cut
 * (src/request/shutdown-cut.ts): its access line says status 503 and SHUTTING_DOWN, and graphql_envelop_error_result
 * counts it under SHUTTING_DOWN. It said CLIENT_CLOSED_REQUEST (status 200), as if its client had hung up: a deploy's
 * cuts were counted among client hang-ups. An operation whose client closes its socket is still CLIENT_CLOSED_REQUEST.
 */
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { AUTH, LANES, type Harness } from './support/harness.js';
import { putExecution, sleep, liveHarnessForTest, waitFor } from './support/live.js';

/** A graphql-transport-ws connection, acknowledged, running one query that hangs upstream. */
async function hangingQuery(harness: Harness, id: string): Promise<WebSocket> {
  putExecution(harness.upstream, id, 'workflow_succeeded');
  harness.upstream.setFault(id, { kind: 'hang' });
  const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } })));
    socket.once('message', (data) => (JSON.parse(String(data)).type === 'connection_ack' ? resolve() : reject(new Error(String(data)))));
  });
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `query Hanging { execution(id: "${id}") { id } }` } }));
  await waitFor(() => harness.upstream.inFlight === 1, 'the query to hang upstream');
  return socket;
}

describe.each(LANES)('a WebSocket operation the drain cut, %s lane', (lane) => {
  const start = () => liveHarnessForTest(lane, { METRICS: 'api' });
  const accessLines = (harness: Harness) => harness.logs.filter((line) => line.component === 'access' && line.operationName === 'Hanging');
  const errorCounts = async (harness: Harness) =>
    (await harness.metricLines('graphql_envelop_error_result')).filter((line) => line.includes('operationType="query"')).map((line) => /code="([^"]+)"/.exec(line)![1]);

  it('is logged 503 with SHUTTING_DOWN and counted under SHUTTING_DOWN, not as its client leaving', async () => {
    const harness = await start();
    await hangingQuery(harness, 'ex_ws_drain_cut');
    const report = await harness.instance.drain({ unreadyMs: 50, graceMs: 300 });
    expect(report).toMatchObject({ webSocketsCut: 1 });
    await waitFor(() => accessLines(harness).length === 1, 'the access line of the cut operation');
    expect(accessLines(harness)[0]).toMatchObject({ transport: 'ws', status: 503, errorCodes: ['SHUTTING_DOWN'] });
    expect(await errorCounts(harness)).toEqual(['SHUTTING_DOWN']);
  });

  it('is still CLIENT_CLOSED_REQUEST when its client closed the socket', async () => {
    const harness = await start();
    const socket = await hangingQuery(harness, 'ex_ws_client_left');
    socket.terminate();
    await waitFor(() => accessLines(harness).length === 1, 'the access line of the abandoned operation');
    await sleep(50);
    expect(accessLines(harness)[0]).toMatchObject({ transport: 'ws', status: 200, errorCodes: ['CLIENT_CLOSED_REQUEST'] });
    expect(await errorCounts(harness)).toEqual(['CLIENT_CLOSED_REQUEST']);
  });
});
