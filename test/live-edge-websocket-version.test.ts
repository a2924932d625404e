/**
 * The WebSocket version of an upgrade (RFC 6455 §4.2.2): the gateway speaks 13 only. An upgrade naming another
 * version, 8 included (hybi-08 to 12, which ws would take), is answered 426 Upgrade Required with
 * `Sec-WebSocket-Version: 13` and `Upgrade: websocket` (RFC 9110 §15.5.22), the JSON body of every refused upgrade,
 * and no socket. One naming none is no handshake at all (§4.2.1): 400, naming 13 likewise.
 *
 * Version 8 was taken because ws speaks it; but a hybi-08 client sends its page's origin as `Sec-WebSocket-Origin`,
 * not `Origin`, and the gateway's Origin check reads `Origin` only: a version-8 page of any site passed as "no
 * browser".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function handshake(version: string | undefined, extra = ''): string {
  return (
    `GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ${KEY}\r\n` +
    (version === undefined ? '' : `Sec-WebSocket-Version: ${version}\r\n`) +
    `Sec-WebSocket-Protocol: graphql-transport-ws\r\nx-request-id: version-check\r\n${extra}\r\n`
  );
}

// The refusals close their connection, so rawExchange's 5 s of quiet (its default) is only how long a loaded machine may
// take to answer; a passing case never waits for it.
describe('the WebSocket version of an upgrade', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(async () => {
    await harness.close();
  });

  it.each([
    ['8 (hybi-08 to 12)', '8'],
    ['7', '7'],
    ['14', '14'],
    ['13 twice', '13, 13'],
    ['13 in another spelling ws would read as 13', '013'],
  ])('answers version %s with 426, Sec-WebSocket-Version: 13 and Upgrade: websocket, and opens no socket', async (_name, version) => {
    const { text } = await rawExchange(harness.url, handshake(version));
    const [top = '', body = ''] = text.split('\r\n\r\n');
    expect(top.split('\r\n')[0]).toBe('HTTP/1.1 426 Upgrade Required');
    const lower = top.toLowerCase();
    expect(lower).toContain('\r\nsec-websocket-version: 13\r\n');
    expect(lower).toContain('\r\nupgrade: websocket\r\n');
    // RFC 9110 §7.8: a sender of Upgrade lists it in Connection.
    expect(lower).toMatch(/\r\nconnection: upgrade, close(\r\n|$)/);
    expect(lower).toContain('x-request-id: version-check');
    expect(JSON.parse(body)).toEqual({
      errors: [{ message: 'Unsupported Sec-WebSocket-Version: the gateway speaks WebSocket version 13 (RFC 6455) only.', extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('opens no socket for a version-8 page of another site, whose origin came as Sec-WebSocket-Origin', async () => {
    const { text } = await rawExchange(harness.url, handshake('8', 'Sec-WebSocket-Origin: https://evil.example\r\n'));
    expect(text.split('\r\n')[0]).not.toBe('HTTP/1.1 101 Switching Protocols');
  });

  it('answers an upgrade naming no version with 400, naming 13', async () => {
    const { text } = await rawExchange(harness.url, handshake(undefined));
    const [top = ''] = text.split('\r\n\r\n');
    expect(top.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(top.toLowerCase()).toContain('\r\nsec-websocket-version: 13\r\n');
  });

  it('takes version 13', async () => {
    // The 101 leaves the connection open: the client ends its side once it came, not after 300 ms of quiet, which a
    // loaded machine's stall before the 101 is written outlasts, leaving nothing read.
    const { text } = await rawExchange(harness.url, handshake('13'), { endAfterAnswers: 1, giveUpMs: 5_000 });
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
  });
});
