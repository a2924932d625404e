/**
 * A far end at REDIS_URL that is not Redis and sends a null reply (`$-1`) when no command waits for one: ioredis
 * threw a TypeError from the socket's 'data' listener and the process exited with a stack (with WORKERS, each worker
 * in turn, at every restart). Now the connection ends, the warning says the far end does not answer as Redis does,
 * and the gateway serves from local state.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { Harness, AUTH } from './support/harness.js';
import { sleep, waitFor } from './support/live.js';

const LOST = 'redis unreachable: serving from local state until it is back';

it('null replies nobody asked for: no crash, one warning saying the far end is not Redis, queries served', async () => {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    // Every command answered, then two null replies more.
    socket.on('data', () => socket.write('+OK\r\n$-1\r\n*-1\r\n'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const gateway = await Harness.start({
    env: { REDIS_URL: `redis://127.0.0.1:${(server.address() as { port: number }).port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters' },
  });
  try {
    const lost = () => gateway.logs.filter((line) => line.msg === LOST);
    await waitFor(() => lost().length === 1, 'the warning');
    expect(String(lost()[0]!.reason)).toMatch(/^the far end of REDIS_URL does not answer as Redis does \(Protocol error, an answer ioredis could not take: /);
    const answer = await gateway.query('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_demo_6' }, { authorization: AUTH });
    expect(answer.data).toEqual({ execution: { id: 'ex_demo_6' } });
    // Reconnects meet the same, told no more.
    await sleep(1_500);
    expect(lost()).toHaveLength(1);
  } finally {
    await gateway.close();
    server.close();
  }
});
