/**
 * What `watchExecution` over Server-Sent Events tells `onRetry` when the connection fails: graphql-sse's NetworkError
 * keeps only the fetch's message, and Node's fetch says only 'fetch failed' (no connection) or 'terminated' (a stream
 * cut), with the why in a `cause` graphql-sse dropped. The message names the cause now, so a log line of the retry says
 * which: a gateway not listening (ECONNREFUSED), a host that does not resolve, a peer that closed the stream.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchExecution } from '../src/client/index.js';
import { AUTH } from './support/harness.js';

/** The first error `onRetry` is told by a watch of `endpoint`, which is then aborted. */
async function firstRetryReason(endpoint: string): Promise<unknown> {
  const abort = new AbortController();
  let reason: unknown;
  const watch = watchExecution(endpoint, AUTH, 'ex_demo_4', {
    signal: abort.signal,
    retryDelayMs: 1,
    onRetry: (error) => {
      reason ??= error;
      abort.abort();
    },
  });
  for await (const _ of watch) abort.abort();
  return reason;
}

describe('watchExecution over Server-Sent Events, told by onRetry why the connection failed', () => {
  let cutting: Server;

  beforeAll(async () => {
    // Answers as an event stream, then closes the connection under it: a gateway that crashed or a proxy that cut it.
    cutting = createHttpServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(':\n\n', () => setTimeout(() => request.socket.destroy(), 20));
    });
    cutting.listen(0, '127.0.0.1');
    await once(cutting, 'listening');
  });

  afterAll(async () => {
    cutting.closeAllConnections();
    await new Promise((resolve) => cutting.close(resolve));
  });

  it('names the refused connection (ECONNREFUSED and the address), not a bare "fetch failed"', async () => {
    const free = createServer().listen(0, '127.0.0.1');
    await once(free, 'listening');
    const { port } = free.address() as { port: number };
    await new Promise((resolve) => free.close(resolve));
    const reason = (await firstRetryReason(`http://127.0.0.1:${port}/graphql`)) as Error;
    expect(reason.name).toBe('NetworkError');
    expect(reason.message).toBe(`fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`);
  });

  it('names a stream the other side closed, not a bare "terminated"', async () => {
    const { port } = cutting.address() as { port: number };
    const reason = (await firstRetryReason(`http://127.0.0.1:${port}/graphql`)) as Error;
    expect(reason.name).toBe('NetworkError');
    expect(reason.message).toBe('terminated (other side closed)');
  });
});
