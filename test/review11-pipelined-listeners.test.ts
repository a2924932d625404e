/**
 * Requests pipelined on one keep-alive connection (src/server/drain.ts `RequestsInFlight.track`): each response queued
 * behind another listens to its socket's 'close' until its turn, so that a drain does not wait for one that will never
 * be answered. One listener each: past ten queued (a client pipelining a batch of GETs), node warned
 * `MaxListenersExceededWarning: Possible EventEmitter memory leak detected. 11 close listeners added to [Socket]`,
 * with its stack on stderr, for ordinary traffic.
 *
 * The upstream is the fake REST server on a loopback port, slowed so the requests queue; the client is a raw TCP socket.
 */
import { describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';
import { putExecution } from './support/live.js';
import { rawExchange, wholeAnswers } from './support/raw-http.js';

describe.each(LANES)('requests pipelined on one connection, %s lane', (lane) => {
  it('twenty queued behind a slow one are all answered, with no MaxListenersExceededWarning', async ({ onTestFinished }) => {
    const harness = await Harness.start({ lane });
    onTestFinished(() => harness.close());
    putExecution(harness.upstream, 'ex_pipe_many', 'workflow_succeeded');
    harness.upstream.setFault('ex_pipe_many', { kind: 'slow', ms: 300 });
    const warnings: Error[] = [];
    const warned = (warning: Error) => void warnings.push(warning);
    process.on('warning', warned);
    try {
      const count = 20;
      const get = (index: number) =>
        `GET /graphql?query=${encodeURIComponent(`{ execution(id: "ex_pipe_many") { id } }`)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nx-request-id: pipe-${index}\r\n${index === count - 1 ? 'connection: close\r\n' : ''}\r\n`;
      const { text } = await rawExchange(harness.url, Array.from({ length: count }, (_, index) => get(index)).join(''), { giveUpMs: 20_000 });
      expect(wholeAnswers(text)).toBe(count);
      expect(text.match(/HTTP\/1\.1 \d{3} /g)).toEqual(Array.from({ length: count }, () => 'HTTP/1.1 200 '));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map(({ name, message }) => `${name}: ${message}`)).toEqual([]);
    } finally {
      process.off('warning', warned);
    }
  }, 60_000);
});
