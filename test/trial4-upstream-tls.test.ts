/**
 * An UPSTREAM_URL whose TLS fails is logged with what to do about it. An operator pointing the gateway at an https
 * upstream signed by a private CA, or writing https:// for a port that serves plain HTTP, saw every query
 * UPSTREAM_UNAVAILABLE and one warning quoting OpenSSL ("self-signed certificate", "ssl3_get_record:wrong version
 * number"), with nothing naming NODE_EXTRA_CA_CERTS or http://; and http:// for a TLS port logged only "other side
 * closed". The line now carries a `hint`. Real servers on loopback: an https one with a self-signed certificate
 * (test/support/tls/), and a plain HTTP one.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { captureLog, type CapturedLog } from './support/captured-log.js';
import { AUTH, TEST_ENV } from './support/harness.js';

const TLS = new URL('./support/tls/', import.meta.url);

let upstream: Server | undefined;
let instance: GatewayInstance | undefined;
afterEach(async () => {
  if (instance) {
    instance.server.closeAllConnections();
    await new Promise<void>((resolve) => instance!.server.close(() => resolve()));
    await instance.close();
  }
  if (upstream) {
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream!.close(() => resolve()));
  }
  instance = upstream = undefined;
});

/** Starts `server` on loopback and a gateway calling it at `scheme`://; answers one query; returns its error and the log. */
async function queryThrough(server: Server, scheme: 'http' | 'https'): Promise<{ error: { message: string; extensions: Record<string, unknown> }; log: CapturedLog }> {
  upstream = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const log = captureLog('warn');
  const upstreamUrl = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  instance = createInstance(readConfig({ ...TEST_ENV, UPSTREAM_MAX_ATTEMPTS: '1' }), { upstreamUrl, logger: log.logger });
  const port = await instance.listen(0, '127.0.0.1');
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body: JSON.stringify({ query: '{ execution(id: "ex_demo_1") { id } }' }),
  });
  const body = (await response.json()) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
  return { error: body.errors[0]!, log };
}

const failures = (log: CapturedLog) => log.lines.filter((line) => line.msg === 'upstream call failed');

describe('an upstream whose TLS fails', () => {
  it('with a certificate no CA of the process signed: the warning names NODE_EXTRA_CA_CERTS', async () => {
    let served = 0;
    const server = createHttpsServer({ key: readFileSync(new URL('self-signed-key.pem', TLS)), cert: readFileSync(new URL('self-signed-cert.pem', TLS)) }, (_request, response) => {
      served++;
      response.end();
    });
    const { error, log } = await queryThrough(server, 'https');
    expect(error.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(served).toBe(0);
    const [line, ...rest] = failures(log);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ err: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } });
    expect(line!.hint).toBe(
      "the certificate of UPSTREAM_URL's host is not signed by a CA this process trusts: start the gateway with NODE_EXTRA_CA_CERTS=/path/to/ca.pem naming the CA that signed it (a private CA's, or the certificate itself when self-signed), or have upstream send its whole chain",
    );
  });

  it('with https:// for a port that serves plain HTTP: the warning says to use http://', async () => {
    let served = 0;
    const server = createHttpServer((_request, response) => {
      served++;
      response.end();
    });
    const { error, log } = await queryThrough(server, 'https');
    expect(error.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(served).toBe(0);
    const [line] = failures(log);
    expect(line!.err).toMatchObject({ code: expect.stringMatching(/^ERR_SSL_/) });
    expect(line!.hint).toBe('UPSTREAM_URL is https:// but its host and port do not answer in TLS: use http:// if the executions API serves plain HTTP there, or its TLS port');
  });

  it('with http:// for a port that speaks TLS: the warning says to check the scheme', async () => {
    let served = 0;
    const server = createHttpsServer({ key: readFileSync(new URL('self-signed-key.pem', TLS)), cert: readFileSync(new URL('self-signed-cert.pem', TLS)) }, (_request, response) => {
      served++;
      response.end();
    });
    const { error, log } = await queryThrough(server, 'http');
    expect(error.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(served).toBe(0);
    const [line] = failures(log);
    expect(line).toMatchObject({ err: { code: 'UND_ERR_SOCKET' } });
    expect(line!.hint).toBe('if every call fails so, check the scheme of UPSTREAM_URL: a port that speaks TLS closes a plain-HTTP request without an answer (use https://)');
  });

  it('a failure that is no TLS one carries no hint: a body cut after its head', async () => {
    const server = createHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"code":200,');
      setTimeout(() => response.socket?.destroy(), 20);
    });
    const { error, log } = await queryThrough(server, 'http');
    expect(error.extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    const [line] = failures(log);
    expect(line).toBeDefined();
    expect(line!.hint).toBeUndefined();
  });
});
