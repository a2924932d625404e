/**
 * Starts what a test needs for real: the fake upstream on an ephemeral loopback
 * port, and the gateway composed exactly as production composes it
 * (src/server/instance.ts), listening on another. Requests go over HTTP to
 * that port, through the edge and the chosen lane.
 *
 * The lane is a parameter: `fast` (the default, as deployed) or `full` (Yoga's
 * own node adapter). Behaviour suites run on both with `describe.each(LANES)`.
 */
import { Writable } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { readConfig, type GatewayConfig } from '../../src/config.js';
import { demoExecutions, DEMO_TOKEN } from '../../src/demo/demo-data.js';
import { FakeUpstream, type FakeUpstreamOptions } from '../../src/demo/fake-upstream.js';
import { createLogger } from '../../src/logger.js';
import type { Gateway } from '../../src/pipeline/gateway.js';
import { createInstance, type GatewayInstance } from '../../src/server/instance.js';

export const AUTH = `Bearer ${DEMO_TOKEN}`;

export type LaneName = 'fast' | 'full';
/** Every lane a request can take; behaviour suites run on each. */
export const LANES: readonly LaneName[] = ['fast', 'full'];

/**
 * Settings for tests, over the production defaults: a generous attempt
 * timeout (a 100,000-event body is 35 MB), a breaker that stays closed (it has
 * its own suite) and short retry pauses so fault suites stay fast, no
 * cross-request cache, so call counts stay per request, and no memory of
 * tokens upstream refused (its own suite, test/refused-tokens.test.ts), so a
 * fault's 401 or 403 for one id stays that test's.
 */
export const TEST_ENV: Readonly<Record<string, string>> = {
  UPSTREAM_TIMEOUT_MS: '10000',
  UPSTREAM_BREAKER_THRESHOLD: '1000000',
  UPSTREAM_RETRY_BASE_DELAY_MS: '2',
  UPSTREAM_RETRY_MAX_DELAY_MS: '10',
  UPSTREAM_CONCURRENCY_PER_REQUEST: '10',
  TERMINAL_CACHE_TTL_MS: '0',
  UPSTREAM_REFUSED_TOKEN_MS: '0',
};

export interface HarnessOptions {
  upstream?: FakeUpstreamOptions;
  /** A fake upstream already running, shared with other harnesses (two replicas of one gateway); not closed by `close()`. */
  sharedUpstream?: FakeUpstream;
  /** Which lane serves requests; `fast` unless given. */
  lane?: LaneName;
  /** Gateway settings as environment variables (README "Configuration"), over the test defaults. */
  env?: Record<string, string>;
  /** Plugins added after the gateway's own, e.g. probes. */
  plugins?: Plugin[];
}

export interface GraphQLResponse<T = Record<string, unknown>> extends ExecutionResult<T> {
  status: number;
  headers: Headers;
}

export interface QueryOptions {
  /** `null` sends no Authorization header. */
  authorization?: string | null;
  headers?: Record<string, string>;
}

export class Harness {
  /** Every line the gateway logged, parsed from pino's JSON. */
  readonly logs: Array<Record<string, unknown> & { msg?: string }> = [];
  /** The raw log output, to prove what never appears in it. */
  rawLogs = '';

  private constructor(
    readonly upstream: FakeUpstream,
    readonly instance: GatewayInstance,
    readonly config: GatewayConfig,
    /** The gateway's GraphQL endpoint on its loopback port. */
    readonly url: string,
    readonly lane: LaneName,
    private readonly ownsUpstream = true,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const lane = options.lane ?? 'fast';
    const upstream = options.sharedUpstream ?? (await FakeUpstream.start({ executions: demoExecutions(), ...options.upstream }));
    const config = readConfig({ ...TEST_ENV, FAST_LANE: String(lane === 'fast'), ...options.env });
    let harness: Harness | undefined;
    const early: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (harness) harness.record(chunk.toString());
        else early.push(chunk.toString());
        callback();
      },
    });
    const instance = createInstance(config, {
      upstreamUrl: upstream.url,
      logger: createLogger('debug', sink),
      ...(options.plugins ? { plugins: options.plugins } : {}),
    });
    const port = await instance.listen(0, '127.0.0.1');
    harness = new Harness(upstream, instance, config, `http://127.0.0.1:${port}/graphql`, lane, options.sharedUpstream === undefined);
    for (const text of early) harness.record(text);
    return harness;
  }

  private record(text: string): void {
    this.rawLogs += text;
    for (const line of text.split('\n').filter(Boolean)) this.logs.push(JSON.parse(line));
  }

  get gateway(): Gateway {
    return this.instance.gateway;
  }

  /** The gateway's origin, e.g. for /health. */
  get origin(): string {
    return new URL(this.url).origin;
  }

  /** POSTs a GraphQL request as JSON over HTTP. `authorization: null` sends none. */
  async query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options: QueryOptions = {}): Promise<GraphQLResponse<T>> {
    const { authorization = AUTH, headers = {} } = options;
    const response = await this.fetch('/graphql', {
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

  /** The sample lines of metric `name` as /metrics gives them, e.g. `name{label="value"} 1` (METRICS on). */
  async metricLines(name: string): Promise<string[]> {
    return (await this.instance.metrics!.registry.getSingleMetricAsString(name)).split('\n').filter((line) => line.startsWith(name));
  }

  /** The value of metric `name`, one without labels (METRICS on). */
  async metricValue(name: string): Promise<number> {
    const sample = (await this.metricLines(name)).find((line) => line.startsWith(`${name} `));
    if (!sample) throw new Error(`no sample of ${name} without labels`);
    return Number(sample.slice(name.length + 1));
  }

  /**
   * POSTs `query` to /graphql with `variablesJson` written into the body as it is: numbers JSON.stringify cannot write
   * (`1e400`, `9007199254740993`) reach the gateway as a client sent them.
   */
  postVariablesText(query: string, variablesJson: string, authorization: string, accept = 'application/json'): Promise<Response> {
    return this.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, authorization },
      body: `{"query":${JSON.stringify(query)},"variables":${variablesJson}}`,
    });
  }

  /** Any HTTP request to the gateway: `path` is relative to its origin (e.g. `/graphql?query=…`). */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(new URL(path, this.url), init);
  }

  async close(): Promise<void> {
    this.instance.server.closeAllConnections();
    await new Promise<void>((resolve) => this.instance.server.close(() => resolve()));
    await this.instance.close();
    if (this.ownsUpstream) await this.upstream.close();
  }
}

/** The `extensions.code` of each error, in order. */
export function codes(response: ExecutionResult): unknown[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}
