/**
 * Child process of test/live12-process-exit.test.ts: a gateway in front of a scripted upstream that misbehaves mid-watch
 * (a poll that hangs, a 503 asking for a long pause, a body that stalls), watched over Server-Sent Events and WebSocket
 * by the official clients and by `watchExecution`. Once each watch has had its update and its outage notice, the
 * watchers leave, the gateway drains and the upstream closes; then nothing may keep the process alive. Says `closed`
 * on stdout once everything is closed, and, if the process is still alive 3 s later, what holds it (`held …`).
 *   node --import tsx test/support/live12-exit-child.ts
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { watchExecution } from '../../src/client/index.js';
import { readConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createInstance } from '../../src/server/instance.js';
import { TEST_ENV } from './harness.js';
import { liveEnv, waitFor } from './live.js';

const hanging = new Set<ServerResponse>();
const calls = new Map<string, number>();
const upstream = createServer((request, response) => {
  const id = (request.url ?? '').split('/').pop()!;
  const n = (calls.get(id) ?? 0) + 1;
  calls.set(id, n);
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    response.end(text);
  };
  if (n === 1) return send(200, { code: 200, data: { execution: { id, status: 'workflow_running' }, events: [] } });
  if (id.endsWith('hang')) {
    hanging.add(response);
    return;
  }
  if (id.endsWith('pause')) return send(503, { code: 503, message: 'busy' }, { 'retry-after': '30' });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
  response.write('{"code":200,');
  hanging.add(response);
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

const config = readConfig({ ...TEST_ENV, ...liveEnv({ UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_MAX_ATTEMPTS: '1' }), UPSTREAM_REFUSED_TOKEN_MS: '0' });
const instance = createInstance(config, { upstreamUrl, logger: createLogger('silent') });
const url = `http://127.0.0.1:${await instance.listen(0, '127.0.0.1')}/graphql`;
const authorization = 'Bearer token-a';
const query = 'subscription ($id: ID!) { executionUpdates(id: $id) { cursor } }';

const notices = new Map<string, number>();
const noticed = (key: string) => notices.set(key, (notices.get(key) ?? 0) + 1);
const sse = createSseClient({ url, headers: { authorization }, retryAttempts: 0 });
const ws = createWsClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization }, retryAttempts: 0, shouldRetry: () => false });
const unsubscribe: Array<() => void> = [];
for (const kind of ['hang', 'pause', 'stall']) {
  for (const [name, client] of [
    ['sse', sse],
    ['ws', ws],
  ] as const) {
    const key = `${name}-${kind}`;
    unsubscribe.push(client.subscribe({ query, variables: { id: `ex_${key}` } }, { next: (result) => void (result.errors && noticed(key)), error: () => undefined, complete: () => undefined }));
  }
}
const stop = new AbortController();
const typed = (['sse', 'websocket'] as const).map(async (transport) => {
  const key = `typed-${transport}-pause`;
  for await (const _ of watchExecution(url, authorization, `ex_${key}`, { transport, webSocketImpl: WebSocket, signal: stop.signal, onOutage: () => noticed(key) })) void _;
});
await waitFor(() => notices.size === 8, () => `a notice on every watch; ${JSON.stringify([...notices])}`);

for (const each of unsubscribe) each();
stop.abort();
await Promise.all(typed);
await sse.dispose();
await ws.dispose();
await waitFor(() => instance.live.counts.pollers === 0 && instance.live.counts.subscriptions === 0, 'nothing live');
await instance.drain({ unreadyMs: 0, graceMs: 1_000 });
await instance.close();
for (const response of hanging) response.destroy();
upstream.closeAllConnections();
await new Promise<void>((resolve) => upstream.close(() => resolve()));
process.stdout.write('closed\n');
setTimeout(() => process.stdout.write(`held ${JSON.stringify(process.getActiveResourcesInfo())}\n`), 3_000).unref();
