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

/** The socket's client for `url` (ws: or wss:) and `authorization`, and `release` for when the watch ends: the last one's release disposes it. */
export function sharedSocket(url: string, authorization: string, webSocketImpl: unknown): { client: Client; release(): void } {
  let byKey = sockets.get(webSocketImpl);
  if (!byKey) sockets.set(webSocketImpl, (byKey = new Map()));
  const key = `${url}\n${authorization}`;
  const shared: Shared = byKey.get(key) ?? {
    // Browsers cannot set headers on a WebSocket: the gateway reads the token from connectionParams.
    client: createClient({ url, connectionParams: { authorization }, lazy: true, retryAttempts: 0, ...(webSocketImpl ? { webSocketImpl } : {}) }),
    users: 0,
  };
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

/** `endpoint` (an http(s) URL) as the WebSocket URL of the same path: graphql-ws is served on the gateway's port and path. */
export function socketUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
