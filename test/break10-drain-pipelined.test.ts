/**
 * Requests pipelined on one connection while a drain runs (src/server/drain.ts `RequestsInFlight`). The drain's first
 * answer says `connection: close`, so the connection closes after it and the requests queued behind it can never be
 * answered; node gives their responses no 'close'. The drain waited for them the whole SHUTDOWN_GRACE_MS (10 s here,
 * the client long gone) and reported them cut. Now they leave the count as their connection closes.
 *
 * The upstream is the fake REST server on a loopback port; the client is a raw TCP socket.
 */
import { afterEach, expect, it } from 'vitest';
import { AUTH, Harness } from './support/harness.js';
import { sentDuringDrain } from './support/drain.js';
import { putExecution } from './support/live.js';

const started: Harness[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((harness) => harness.close()));
});

it('requests pipelined behind the drain\'s connection: close answer do not hold the drain to the end of its grace', async () => {
  const harness = await Harness.start();
  started.push(harness);
  const ids = ['ex_pipe_1', 'ex_pipe_2', 'ex_pipe_3'];
  for (const id of ids) {
    putExecution(harness.upstream, id, 'workflow_succeeded');
    harness.upstream.setFault(id, { kind: 'slow', ms: 300 });
  }
  const request = (id: string) => `GET /graphql?query=${encodeURIComponent(`{ execution(id: "${id}") { id } }`)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`;
  const { report, tookMs, received } = await sentDuringDrain(harness, ids.map(request).join(''), 10_000);
  // One answer, closing the connection: the others were never to be answered.
  expect(received.match(/^HTTP\/1\.1 \d+/gm)).toEqual(['HTTP/1.1 200']);
  expect(received).toMatch(/\r\nconnection: close\r\n/i);
  expect(report).toMatchObject({ requestsFinished: 1, requestsCut: 0 });
  // The grace is 10 s; the upstream's 300 ms and LINGER_MS (2 s) at most, with room for a loaded machine.
  expect(tookMs).toBeLessThan(6_000);
}, 30_000);
