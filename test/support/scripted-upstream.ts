/**
 * A gateway composed as production composes it (src/server/instance.ts), on loopback, in front of a bare HTTP server
 * whose answers a test writes by hand: for what FakeUpstream cannot send (a status line below 100, a head whose body
 * stalls, a redirect). The settings are the harness's test defaults (TEST_ENV) under `env`; `close()` ends both.
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createInstance, type GatewayInstance } from '../../src/server/instance.js';
import { TEST_ENV } from './harness.js';

export interface BehindScripted {
  /** The gateway's /graphql URL. */
  url: string;
  /** The scripted upstream's origin. */
  upstreamUrl: string;
  instance: GatewayInstance;
  close(): Promise<void>;
}

export async function gatewayBehindScripted(answer: RequestListener, env: Record<string, string> = {}, logger: Logger = createLogger('silent')): Promise<BehindScripted> {
  const upstream = createServer(answer);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const instance = createInstance(readConfig({ ...TEST_ENV, ...env }), { upstreamUrl, logger });
  const url = `http://127.0.0.1:${await instance.listen(0, '127.0.0.1')}/graphql`;
  return {
    url,
    upstreamUrl,
    instance,
    async close() {
      instance.server.closeAllConnections();
      await new Promise<void>((resolve) => instance.server.close(() => resolve()));
      await instance.close();
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    },
  };
}
