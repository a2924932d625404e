/**
 * One graphql-ws socket per gateway and token, shared by every `watchExecution` that asks for the
 * WebSocket transport. A browser opens at most 6 HTTP/1.1 connections per host, so a page watching
 * more executions than that over Server-Sent Events left the seventh watch, and every query, waiting
 * for one to end; over one socket it watches as many as LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION allows.
 *
 * graphql-ws's own reconnection is off (`retryAttempts: 0`): it subscribes again with the variables
 * it started with, so a watch resumed by it would get again every event since its first
 * `eventsAfter`. A dropped socket ends each subscription instead, and each watch subscribes again
 * from its own last cursor; the socket is opened again by the first of them (`lazy`).
 */
import { createClient, type Client } from 'graphql-ws';

interface Shared {
  readonly client: Client;
  users: number;
}

/** By WebSocket implementation (the global one is `undefined`), then by URL and Authorization. */
const sockets = new Map<unknown, Map<string, Shared>>();

/**
 * The socket's client for `url` (ws: or wss:) and `authorization`, and `release` for when the watch ends: the last one's
 * release disposes it. With `idleMs` (finite, over 0) it pings every half of it and drops a socket whose pong has not come
 * within the other half: one that went away without a word (a laptop that slept, a NAT that forgot it) closes no socket,
 * and a browser tells a page nothing of the gateway's own pings, so its watches would wait for ever.
 */
export function sharedSocket(url: string, authorization: string, webSocketImpl: unknown, idleMs: number): { client: Client; release(): void } {
  let byKey = sockets.get(webSocketImpl);
  if (!byKey) sockets.set(webSocketImpl, (byKey = new Map()));
  const key = `${url}\n${authorization}\n${idleMs}`;
  const shared: Shared = byKey.get(key) ?? { client: socketClient(url, authorization, webSocketImpl, idleMs), users: 0 };
  byKey.set(key, shared);
  shared.users++;
  let released = false;
  const owners = byKey;
  return {
    client: shared.client,
    release() {
      if (released) return;
      released = true;
      if (--shared.users > 0) return;
      owners.delete(key);
      void shared.client.dispose();
    },
  };
}

/** Closed by the client itself when no pong came in time (graphql-ws's `terminate()`, which closes at once, without a closing handshake). */
export const SOCKET_IDLE_CLOSE_CODE = 4499;

function socketClient(url: string, authorization: string, webSocketImpl: unknown, idleMs: number): Client {
  const half = idleMs > 0 && Number.isFinite(idleMs) ? Math.max(1, Math.floor(idleMs / 2)) : 0;
  let pongDue: ReturnType<typeof setTimeout> | undefined;
  const client: Client = createClient({
    url,
    // Browsers cannot set headers on a WebSocket: the gateway reads the token from connectionParams.
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: 0,
    ...(webSocketImpl ? { webSocketImpl } : {}),
    ...(half > 0
      ? {
          keepAlive: half,
          on: {
            ping: (received: boolean) => {
              if (received) return;
              clearTimeout(pongDue);
              pongDue = setTimeout(() => client.terminate(), half);
            },
            pong: (received: boolean) => {
              if (received) clearTimeout(pongDue);
            },
            closed: () => clearTimeout(pongDue),
          },
        }
      : {}),
  });
  return client;
}

/** `endpoint` (an http(s) URL) as the WebSocket URL of the same path: graphql-ws is served on the gateway's port and path. */
export function socketUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
