/**
 * A WebSocket upgrade from a page of the gateway's own origin is taken without CORS_ORIGINS: its Origin names the host
 * the request was sent to. The two were compared as text, so a proxy that writes the default port into Host (nginx's
 * `proxy_set_header Host $host:$server_port`, `app.example.com:443`) or keeps a Host's capitals had every same-origin
 * page's WebSocket refused (403), while its queries worked. Read as URLs of the page's scheme, they match.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

/** The status line the gateway answers a graphql-ws upgrade with, sent with this Host and Origin. */
async function upgradeStatus(harness: Harness, host: string, origin: string): Promise<string> {
  const { text } = await rawExchange(
    harness.url,
    [
      'GET /graphql HTTP/1.1',
      `Host: ${host}`,
      `Origin: ${origin}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol: graphql-transport-ws',
      '',
      '',
    ].join('\r\n'),
    { leaveAfterMs: 500 },
  );
  return text.slice(0, text.indexOf('\r\n'));
}

describe('the Origin check of a WebSocket upgrade', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it.each([
    ['app.example.com:443', 'https://app.example.com'],
    ['app.example.com:80', 'http://app.example.com'],
    ['App.Example.COM', 'https://app.example.com'],
    ['app.example.com:8443', 'https://app.example.com:8443'],
    ['[::1]:4000', 'http://[::1]:4000'],
  ])('takes Host %s as the gateway\'s own origin for a page at %s', async (host, origin) => {
    expect(await upgradeStatus(harness, host, origin)).toBe('HTTP/1.1 101 Switching Protocols');
  });

  it.each([
    ['app.example.com:8443', 'https://app.example.com'],
    ['app.example.com:443', 'http://app.example.com'],
    ['app.example.com', 'https://app.example.com.evil.test'],
    ['app.example.com', 'https://evil.test'],
  ])('still refuses Host %s for a page at %s, another origin', async (host, origin) => {
    expect(await upgradeStatus(harness, host, origin)).toBe('HTTP/1.1 403 Forbidden');
  });
});
