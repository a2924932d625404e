/**
 * A connection that has never sent a byte (a browser's or a balancer's preconnected socket, a TCP probe's) at the
 * end of a drain (src/server/drain.ts `OpenConnections`). Node counts it neither idle nor busy, so the drain, every
 * request finished, waited the whole LINGER_MS (2 s) for it to close before it logged `drained: every request
 * finished` and let the process exit: 2 s of every deploy spent on a socket with nothing on it. Now it is closed
 * (a FIN, not a reset) once it is LINGER_MS old, at once when it is older; a younger one is still waited for, so a
 * request racing the listener's close on it is answered (test/shutdown.test.ts).
 *
 * The upstream is the fake REST server on a loopback port; the connections are raw TCP sockets.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { sleep } from './support/live.js';

/** LINGER_MS (src/server/lingering-close.ts) and a little more: the unready period a connection opened first outlives it in. */
const OLDER_THAN_LINGER_MS = 2_200;

describe('a connection that never sent a byte, at the end of a drain', () => {
  const started: Harness[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(started.splice(0).map((harness) => harness.close()));
  });

  /** A raw connection that sends nothing; `ended` resolves with how it ended for its client. */
  const silent = async (harness: Harness) => {
    const socket = connect(Number(new URL(harness.url).port), '127.0.0.1');
    sockets.push(socket);
    let how = 'closed';
    socket.on('end', () => (how = 'ended by the server'));
    socket.on('error', (error: NodeJS.ErrnoException) => (how = `failed: ${error.code}`));
    const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(how)));
    await new Promise((resolve) => socket.once('connect', resolve));
    return { socket, ended };
  };

  it('is closed, not waited for LINGER_MS, once it is older than that, and the drain ends at once', async () => {
    const harness = await Harness.start();
    started.push(harness);
    const connections = await Promise.all([silent(harness), silent(harness), silent(harness)]);
    // A keep-alive connection that was served, beside them: closed as idle when the listener closes, as before.
    const served = await harness.query('{ __typename }');
    expect(served.status).toBe(200);
    const began = performance.now();
    const report = await harness.instance.drain({ unreadyMs: OLDER_THAN_LINGER_MS, graceMs: 20_000 });
    const afterUnready = performance.now() - began - OLDER_THAN_LINGER_MS;
    expect(report).toMatchObject({ requestsCut: 0, webSocketsCut: 0 });
    // It took LINGER_MS (2,000 ms) more; 1 s leaves a loaded machine room.
    expect(afterUnready).toBeLessThan(1_000);
    expect(await Promise.race([Promise.all(connections.map(({ ended }) => ended)), sleep(3_000).then(() => 'still open')])).toEqual(Array(3).fill('ended by the server'));
  });
});
