/**
 * Starts what a test needs for real: the fake upstream on an ephemeral loopback
 * port and a gateway pointing at it. Tests call the gateway through
 * `yoga.fetch` (no port) or, with `listen()`, over a real socket.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import { demoExecutions, DEMO_TOKEN } from '../../src/demo/demo-data.js';
import { FakeUpstream, type FakeUpstreamOptions } from '../../src/demo/fake-upstream.js';
import { createGateway, type Gateway, type SecuritySettings } from '../../src/gateway.js';
import { createHttpServer } from '../../src/server/http-server.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { ExecutionsClient, type ExecutionsClientOptions } from '../../src/upstream/executions-client.js';
import type { SharedExecutionsOptions } from '../../src/upstream/shared-executions.js';

export const AUTH = `Bearer ${DEMO_TOKEN}`;

export interface HarnessOptions {
  upstream?: FakeUpstreamOptions;
  client?: Partial<Omit<ExecutionsClientOptions, 'baseUrl' | 'logger'>>;
  concurrencyPerRequest?: number;
  requestBudgetMs?: number;
  security?: Partial<SecuritySettings>;
  maxRequestBodyBytes?: number;
  /** Cross-request cache; off unless a test turns it on, so call counts stay per request. */
  cache?: Partial<SharedExecutionsOptions>;
  upstreamExtensions?: boolean;
}

export interface GraphQLResponse<T = Record<string, unknown>> extends ExecutionResult<T> {
  status: number;
  headers: Headers;
}

export class Harness {
  /** Every line the gateway logged, parsed from pino's JSON. */
  readonly logs: Array<Record<string, unknown> & { msg?: string }> = [];
  /** The raw log output, to prove what never appears in it. */
  rawLogs = '';
  #server: Server | undefined;

  private constructor(
    readonly upstream: FakeUpstream,
    readonly client: ExecutionsClient,
    readonly yoga: Gateway,
    private readonly maxRequestBodyBytes: number,
    private readonly logger: Logger,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const upstream = await FakeUpstream.start({ executions: demoExecutions(), ...options.upstream });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        harness.rawLogs += chunk.toString();
        for (const line of chunk.toString().split('\n').filter(Boolean)) harness.logs.push(JSON.parse(line));
        callback();
      },
    });
    const logger = createLogger('debug', sink);
    const client = new ExecutionsClient({
      baseUrl: upstream.url,
      // Generous: a 100,000-event body is 35 MB; fault tests set their own short timeouts.
      timeoutMs: 10_000,
      connections: 16,
      maxBodyBytes: 128 * 1024 * 1024,
      executionIdPattern: /^[A-Za-z0-9_-]{1,64}$/,
      logger,
      ...options.client,
      // Suites fire many faults in a row; the breaker has its own suite, so here it
      // stays closed, and retry pauses are short to keep suites fast.
      resilience: { breakerThreshold: 1_000_000, retryBaseDelayMs: 2, retryMaxDelayMs: 10, ...options.client?.resilience },
    });
    const yoga = createGateway({
      client,
      logger,
      concurrencyPerRequest: options.concurrencyPerRequest ?? 10,
      requestBudgetMs: options.requestBudgetMs,
      security: options.security,
      cache: { terminalTtlMs: 0, ...options.cache },
      upstreamExtensions: options.upstreamExtensions,
    });
    const harness = new Harness(upstream, client, yoga, options.maxRequestBodyBytes ?? 64 * 1024, logger);
    return harness;
  }

  /** POSTs a GraphQL request through yoga.fetch. `authorization: null` sends none. */
  async query<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    { authorization = AUTH, headers = {} }: { authorization?: string | null; headers?: Record<string, string> } = {},
  ): Promise<GraphQLResponse<T>> {
    const response = await this.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(authorization ? { authorization } : {}),
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as ExecutionResult<T>;
    return { ...body, status: response.status, headers: response.headers };
  }

  /** Serves the gateway on an ephemeral loopback port and returns its /graphql URL. */
  async listen(): Promise<string> {
    this.#server = createHttpServer(this.yoga, { maxRequestBodyBytes: this.maxRequestBodyBytes, logger: this.logger });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/graphql`;
  }

  async close(): Promise<void> {
    if (this.#server) {
      this.#server.closeAllConnections();
      await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
    }
    await this.client.close();
    await this.upstream.close();
  }
}

/** The `extensions.code` of each error, in order. */
export function codes(response: ExecutionResult): unknown[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}
