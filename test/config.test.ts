import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultOperationLimits, nearMissSettings, readConfig, settingNames, type ManifestCheck } from '../src/config.js';
import { documentHash as sha256 } from '../src/pipeline/document-hash.js';
import { manifestRefusal } from '../src/pipeline/trusted-documents.js';

/** Runs `npm start`'s entry (src/main.ts) with only `env` (and PATH), in `cwd`, until it exits: its exit code and stderr's lines. */
async function refusedStart(env: Record<string, string>, cwd?: string): Promise<{ code: unknown; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { ...(cwd ? { cwd } : {}), env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  // 'close', not 'exit': stderr is read whole then.
  const code = await new Promise((resolve) => child.once('close', resolve));
  return { code, lines: err.split('\n') };
}

describe('configuration', () => {
  it('has working defaults, grouped by concern', () => {
    const config = readConfig({});
    expect(config.server).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      workers: 1,
      fastLane: true,
      maxRequestBodyBytes: 65_536,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
    });
    expect(config.upstream).toMatchObject({
      url: undefined,
      timeoutMs: 5_000,
      requestBudgetMs: 15_000,
      maxAttempts: 3,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 1_000,
      retryAfterCapMs: 2_000,
      pauseMaxMs: 60_000,
      refusedTokenMs: 5_000,
      breakerThreshold: 10,
      breakerWindowMs: 10_000,
      breakerMinIds: 5,
      breakerMinCallers: 2,
      breakerHalfOpenMs: 5_000,
      maxConcurrent: 256,
      queue: 1_024,
      maxConcurrentPerCaller: 64,
      connections: 256,
      concurrencyPerRequest: 20,
      maxBodyBytes: 128 * 1024 * 1024,
    });
    expect(config.upstream.executionIdPattern.source).toBe('^[A-Za-z0-9_-]{1,64}$');
    expect(config.cache).toEqual({ terminalTtlMs: 60_000, activeTtlMs: 0, maxBytes: 256 * 1024 * 1024, documentMaxBytes: 64 * 1024 * 1024, callerSharePercent: 25 });
    expect(config.security).toEqual({ trustedDocuments: 'off', introspection: true, fieldSuggestions: true, corsOrigins: [] });
    expect(config.telemetry).toEqual({
      metrics: 'port',
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
      accessLog: 'all',
      accessLogSamplePercent: 10,
      otlpEndpoint: undefined,
      otlpTracesEndpoint: undefined,
      otelSdkDisabled: false,
      otelSampler: 'parentbased_traceidratio',
      otelServiceName: 'execution-gateway',
      otelResourceAttributes: undefined,
      otelSampleRatio: 1,
      traceDocument: false,
      logLevel: 'info',
      upstreamCost: true,
    });
    expect(config.server).toMatchObject({ shutdownUnreadyMs: 5_000, shutdownGraceMs: 20_000 });
    expect(config.production).toBe(false);
  });

  it('takes METRICS_PORT equal to PORT on two interfaces, neither a wildcard, where both bind', () => {
    const config = readConfig({ PORT: '8080', METRICS_PORT: '8080', HOST: '10.0.0.5', METRICS_HOST: '127.0.0.1' });
    expect([config.server.port, config.telemetry.metricsPort]).toEqual([8080, 8080]);
    // Names other than `localhost` are the bind's to resolve: two interfaces by name work as two by address.
    expect(readConfig({ PORT: '8080', METRICS_PORT: '8080', HOST: 'api.internal', METRICS_HOST: 'mgmt.internal' }).telemetry.metricsPort).toBe(8080);
    expect(readConfig({ PORT: '8080', METRICS_PORT: '8080', METRICS: 'api' }).telemetry.metrics).toBe('api');
  });

  it('reads every variable into its group', () => {
    const config = readConfig({
      PORT: '8081',
      HOST: '0.0.0.0',
      WORKERS: '4',
      FAST_LANE: 'false',
      MAX_REQUEST_BODY_BYTES: '4096',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '3000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
      UPSTREAM_URL: 'http://127.0.0.1:9000/api',
      UPSTREAM_TIMEOUT_MS: '2500',
      REQUEST_BUDGET_MS: '9000',
      UPSTREAM_MAX_ATTEMPTS: '5',
      UPSTREAM_RETRY_BASE_DELAY_MS: '20',
      UPSTREAM_RETRY_MAX_DELAY_MS: '400',
      UPSTREAM_RETRY_AFTER_CAP_MS: '700',
      UPSTREAM_BREAKER_THRESHOLD: '3',
      UPSTREAM_BREAKER_HALF_OPEN_MS: '800',
      UPSTREAM_MAX_CONCURRENT: '32',
      UPSTREAM_QUEUE: '0',
      UPSTREAM_CONNECTIONS: '48',
      UPSTREAM_CONCURRENCY_PER_REQUEST: '4',
      UPSTREAM_MAX_BODY_BYTES: '2048',
      UPSTREAM_MAX_BYTES_IN_FLIGHT: '65536',
      UPSTREAM_MAX_JSON_VALUES: '50000',
      EXECUTION_ID_PATTERN: '^ex_[0-9]+$',
      TERMINAL_CACHE_TTL_MS: '0',
      ACTIVE_CACHE_TTL_MS: '500',
      CACHE_MAX_BYTES: '1000',
      DOCUMENT_CACHE_MAX_BYTES: '2000',
      CALLER_SHARE_PERCENT: '100',
      INTROSPECTION: 'false',
      FIELD_SUGGESTIONS: 'false',
      CORS_ORIGINS: 'https://app.example, https://admin.example',
      LOG_LEVEL: 'warn',
      UPSTREAM_EXTENSIONS: 'false',
    });
    expect(config.server).toMatchObject({
      port: 8081,
      host: '0.0.0.0',
      workers: 4,
      fastLane: false,
      maxRequestBodyBytes: 4096,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      keepAliveTimeoutMs: 65_000,
    });
    const { executionIdPattern, ...upstream } = config.upstream;
    expect(upstream).toEqual({
      url: 'http://127.0.0.1:9000/api',
      timeoutMs: 2500,
      requestBudgetMs: 9000,
      maxAttempts: 5,
      retryBaseDelayMs: 20,
      retryMaxDelayMs: 400,
      retryAfterCapMs: 700,
      pauseMaxMs: 60_000,
      refusedTokenMs: 5_000,
      breakerThreshold: 3,
      breakerWindowMs: 10_000,
      breakerMinIds: 5,
      breakerMinCallers: 2,
      breakerHalfOpenMs: 800,
      maxConcurrent: 32,
      queue: 0,
      maxConcurrentPerCaller: 64,
      connections: 48,
      concurrencyPerRequest: 4,
      maxBodyBytes: 2048,
      maxBytesInFlight: 65_536,
      maxJsonValues: 50_000,
    });
    expect(executionIdPattern.test('ex_12')).toBe(true);
    expect(executionIdPattern.test('ex_demo_1')).toBe(false);
    expect(config.cache).toEqual({ terminalTtlMs: 0, activeTtlMs: 500, maxBytes: 1000, documentMaxBytes: 2000, callerSharePercent: 100 });
    expect(config.security).toMatchObject({ introspection: false, fieldSuggestions: false, corsOrigins: ['https://app.example', 'https://admin.example'] });
    expect(config.telemetry).toMatchObject({ logLevel: 'warn', upstreamCost: false });
  });

  it('takes an EXECUTION_ID_PATTERN whose alternatives are inside a group, a class or escaped', () => {
    for (const source of ['^(?:ex_[a-z]+|[0-9]+)$', '^[a|b]+$', '^[\\]|]+$', '^a\\|b$', '^[a-z]+(?:-[a-z]+)*$', '^([a-z0-9]+-?)+$']) {
      expect(readConfig({ EXECUTION_ID_PATTERN: source }).upstream.executionIdPattern.source).toBe(source);
    }
  });

  it('sizes the upstream pool to the bulkhead unless told otherwise', () => {
    expect(readConfig({}).upstream).toMatchObject({ maxConcurrent: 256, connections: 256, maxConcurrentPerCaller: 64 });
    expect(readConfig({ UPSTREAM_MAX_CONCURRENT: '1000', UPSTREAM_CONNECTIONS: '' }).upstream).toMatchObject({ connections: 1000, maxConcurrentPerCaller: 64 });
    expect(readConfig({ UPSTREAM_MAX_CONCURRENT: '8' }).upstream).toMatchObject({ connections: 8, maxConcurrentPerCaller: 64 });
    expect(readConfig({ UPSTREAM_MAX_CONCURRENT: '8', UPSTREAM_CONNECTIONS: '20', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '8' }).upstream).toMatchObject({
      connections: 20,
      maxConcurrentPerCaller: 8,
    });
  });

  it('treats an empty variable as unset', () => {
    const config = readConfig({ PORT: '', FAST_LANE: '', FIELD_SUGGESTIONS: '', UPSTREAM_URL: '' });
    expect(config.server.port).toBe(4000);
    expect(config.server.fastLane).toBe(true);
    expect(config.security.fieldSuggestions).toBe(true);
    expect(config.upstream.url).toBeUndefined();
  });

  it.each([
    [{}, true],
    [{ FAST_LANE: 'true' }, true],
    [{ FAST_LANE: 'false' }, false],
  ])('FAST_LANE: %o selects the fast lane: %s', (env, fastLane) => {
    expect(readConfig(env).server.fastLane).toBe(fastLane);
  });

  it.each([
    [{}, false, true],
    [{ NODE_ENV: 'development' }, false, true],
    [{ NODE_ENV: 'test' }, false, true],
    [{ NODE_ENV: 'production' }, true, false],
    [{ NODE_ENV: 'production', FIELD_SUGGESTIONS: 'true' }, true, true],
    [{ NODE_ENV: 'production', FIELD_SUGGESTIONS: 'false' }, true, false],
    [{ NODE_ENV: 'production', FIELD_SUGGESTIONS: '' }, true, false],
    [{ FIELD_SUGGESTIONS: 'false' }, false, false],
    [{ FIELD_SUGGESTIONS: 'true' }, false, true],
    // Hints name what introspection would: a schema hidden on purpose is hidden from them too.
    [{ INTROSPECTION: 'false' }, false, false],
    [{ INTROSPECTION: 'false', FIELD_SUGGESTIONS: 'true' }, false, true],
    // TRUSTED_DOCUMENTS=only serves no introspection either: a listed document's variable named its type's values.
    [{ TRUSTED_DOCUMENTS: 'only' }, false, false],
    [{ TRUSTED_DOCUMENTS: 'allow' }, false, true],
    [{ TRUSTED_DOCUMENTS: 'only', FIELD_SUGGESTIONS: 'true' }, false, true],
  ])('with %o: production %s, field suggestions %s', (env, production, fieldSuggestions) => {
    const config = readConfig(env);
    expect(config.production).toBe(production);
    expect(config.security.fieldSuggestions).toBe(fieldSuggestions);
  });

  // A near miss of "production" once started the demo upstream with its public token. Lower case only:
  // graphql-js and other libraries compare NODE_ENV to 'production' themselves.
  it.each(['prod', 'Production', 'PRODUCTION', 'staging', 'dev', ' production', 'production '])('refuses NODE_ENV=%j in one line', (value) => {
    expect(() => readConfig({ NODE_ENV: value })).toThrow(ConfigError);
    expect(() => readConfig({ NODE_ENV: value })).toThrow(`Invalid NODE_ENV=${JSON.stringify(value)}: must be production, development or test (lower case), or unset.`);
  });

  it('keeps a space inside a key prefix or service name, which is refused only around it', () => {
    const config = readConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_SECRET: 'k'.repeat(32), REDIS_KEY_PREFIX: 'team a:', OTEL_SERVICE_NAME: 'checkout gateway' });
    expect(config.sharedState.redisKeyPrefix).toBe('team a:');
    expect(config.telemetry.otelServiceName).toBe('checkout gateway');
  });

  it('treats an empty NODE_ENV as unset', () => {
    expect(readConfig({ NODE_ENV: '' }).production).toBe(false);
  });

  it('reads CORS_ORIGINS as browsers spell an Origin: lower-case host, no default port, no trailing slash', () => {
    expect(readConfig({ CORS_ORIGINS: 'https://App.Example.com/, http://127.0.0.1:5100/,https://admin.example:443,http://b.example:8080' }).security.corsOrigins).toEqual([
      'https://app.example.com',
      'http://127.0.0.1:5100',
      'https://admin.example',
      'http://b.example:8080',
    ]);
    expect(readConfig({ CORS_ORIGINS: '*' }).security.corsOrigins).toEqual(['*']);
  });

  it('reads TRUSTED_PROXIES as proxy-addr compiles it: addresses, ranges and named ranges, a blank entry skipped', () => {
    expect(readConfig({}).telemetry.trustedProxies).toBeUndefined();
    const { entries, trusts } = readConfig({ TRUSTED_PROXIES: 'loopback, 10.0.0.0/8,, 2001:db8::1' }).telemetry.trustedProxies!;
    expect(entries).toEqual(['loopback', '10.0.0.0/8', '2001:db8::1']);
    expect(['127.0.0.1', '::1', '10.200.0.1', '2001:db8::1'].map((address) => trusts(address, 0))).toEqual([true, true, true, true]);
    expect(['11.0.0.1', '203.0.113.9', '2001:db8::2'].map((address) => trusts(address, 0))).toEqual([false, false, false]);
    // A netmask for a length, an IPv4-mapped address, a range of IPv6.
    const more = readConfig({ TRUSTED_PROXIES: '192.168.0.0/255.255.0.0, ::ffff:172.16.0.1, fd00::/8, linklocal, uniquelocal' }).telemetry.trustedProxies!;
    expect(['192.168.4.4', '172.16.0.1', 'fd12::1', '169.254.0.1', '10.0.0.1'].map((address) => more.trusts(address, 0))).toEqual([true, true, true, true, true]);
  });

  it('reads OTEL_RESOURCE_ATTRIBUTES as the OpenTelemetry specification writes it', () => {
    expect(readConfig({}).telemetry.otelResourceAttributes).toBeUndefined();
    expect(readConfig({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod, service.version = 1.4.2,,team=a%20b%2Cc' }).telemetry.otelResourceAttributes).toEqual({
      'deployment.environment.name': 'prod',
      'service.version': '1.4.2',
      team: 'a b,c',
    });
  });

  it('reads the HTTP time limits and retry pauses at the edges of their ranges', () => {
    expect(
      readConfig({ HTTP_HEADERS_TIMEOUT_MS: '100', HTTP_REQUEST_TIMEOUT_MS: '120000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '600000' }).server,
    ).toMatchObject({ headersTimeoutMs: 100, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 600_000 });
    expect(readConfig({ UPSTREAM_RETRY_BASE_DELAY_MS: '0', UPSTREAM_RETRY_MAX_DELAY_MS: '60000' }).upstream).toMatchObject({
      retryBaseDelayMs: 0,
      retryMaxDelayMs: 60_000,
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid PORT="abc": must be a whole number from 0 to 65535.'],
    [{ PORT: '70000' }, 'Invalid PORT="70000": must be at most 65535.'],
    [{ UPSTREAM_URL: 'ftp://host' }, 'Invalid UPSTREAM_URL="ftp://host": must be an http(s) URL such as http://127.0.0.1:8080.'],
    [{ UPSTREAM_URL: 'not a url' }, 'Invalid UPSTREAM_URL="not a url": must be an http(s) URL such as http://127.0.0.1:8080.'],
    [{ UPSTREAM_URL: 'http://host/?x=1' }, 'Invalid UPSTREAM_URL="http://host/?***": must not carry a query string or fragment.'],
    // The endpoint's path is appended: a base that holds it (upstream's documentation writes the whole URL) made every id NOT_FOUND.
    ...['https://api.example.com/v1', 'https://api.example.com/v1/', 'https://api.example.com/v1/executions', 'https://api.example.com/v1/executions/{id}', 'http://gw.internal/executions-api/v1'].map(
      (value): [Record<string, string>, string] => [
        { UPSTREAM_URL: value },
        `Invalid UPSTREAM_URL="${value}": must be the base URL of the executions API, without \`/v1\` or \`/v1/executions\`: the gateway appends \`/v1/executions/{id}\` itself (https://api.example.com, not https://api.example.com/v1).`,
      ],
    ),
    [{ UPSTREAM_TIMEOUT_MS: '0' }, 'Invalid UPSTREAM_TIMEOUT_MS="0": must be at least 1.'],
    [
      { EXECUTION_ID_PATTERN: '(' },
      'Invalid EXECUTION_ID_PATTERN="(": must be a regular expression in the syntax JavaScript and RE2 share (not RE2\'s alone, such as (?i) or (?P<name>…)); JavaScript says: Unterminated group.',
    ],
    [{ EXECUTION_ID_PATTERN: '(?i)^ex_\\w+$' }, 'Invalid EXECUTION_ID_PATTERN="(?i)^ex_\\\\w+$": must be a regular expression in the syntax JavaScript and RE2 share (not RE2\'s alone, such as (?i) or (?P<name>…)); JavaScript says: Invalid group.'],
    // Unanchored, a pattern allows any text that merely contains an allowed id, of any length.
    [{ EXECUTION_ID_PATTERN: '[a-z]+' }, 'Invalid EXECUTION_ID_PATTERN="[a-z]+": must match whole ids: start it with ^ and end it with $, as in ^(?:your pattern)$.'],
    [{ EXECUTION_ID_PATTERN: '^ex_' }, 'Invalid EXECUTION_ID_PATTERN="^ex_": must match whole ids: start it with ^ and end it with $, as in ^(?:your pattern)$.'],
    [{ EXECUTION_ID_PATTERN: '^ex_\\$' }, 'Invalid EXECUTION_ID_PATTERN="^ex_\\\\$": must match whole ids: start it with ^ and end it with $, as in ^(?:your pattern)$.'],
    // `^` binds the first alternative only, `$` the last: `ex_a/anything` matched.
    [{ EXECUTION_ID_PATTERN: '^ex_[a-z]+|[0-9]+$' }, 'Invalid EXECUTION_ID_PATTERN="^ex_[a-z]+|[0-9]+$": must match whole ids: start it with ^ and end it with $, as in ^(?:your pattern)$.'],
    // RE2 matches in linear time, and has neither lookaround nor backreferences (test/execution-id-pattern.property.test.ts).
    // Each refusal says what RE2 did not read, a repeat past RE2's 1000 among them.
    ...(
      [
        ['^(?=ex_)\\w+$', 'invalid or unsupported Perl syntax: `(?=`'],
        ['^(a)\\1$', 'invalid escape sequence: `\\1`'],
        ['^ex_(?!x)\\w+$', 'invalid or unsupported Perl syntax: `(?!`'],
        ['^[a-z]{1,1001}$', 'invalid repeat count: `{1,1001}`'],
      ] as const
    ).map(([source, why]): [Record<string, string>, string] => [
      { EXECUTION_ID_PATTERN: source },
      `Invalid EXECUTION_ID_PATTERN=${JSON.stringify(source)}: must be a pattern RE2 reads (no lookaround, no backreference, repeat counts up to 1000, nested ones multiplied), so that ids are matched in time linear in their length; RE2 says: ${why}.`,
    ]),
    [{ FAST_LANE: 'yes' }, 'Invalid FAST_LANE="yes": must be true or false.'],
    [{ FAST_LANE: '0' }, 'Invalid FAST_LANE="0": must be true or false.'],
    [{ FIELD_SUGGESTIONS: 'on' }, 'Invalid FIELD_SUGGESTIONS="on": must be true or false.'],
    [{ FIELD_SUGGESTIONS: 'TRUE' }, 'Invalid FIELD_SUGGESTIONS="TRUE": must be true or false.'],
    [{ HTTP_HEADERS_TIMEOUT_MS: '99' }, 'Invalid HTTP_HEADERS_TIMEOUT_MS="99": must be at least 100.'],
    [{ HTTP_HEADERS_TIMEOUT_MS: '120001' }, 'Invalid HTTP_HEADERS_TIMEOUT_MS="120001": must be at most 120000.'],
    [{ HTTP_REQUEST_TIMEOUT_MS: '2.5' }, 'Invalid HTTP_REQUEST_TIMEOUT_MS="2.5": must be a whole number from 100 to 120000.'],
    [{ HTTP_REQUEST_TIMEOUT_MS: '50' }, 'Invalid HTTP_REQUEST_TIMEOUT_MS="50": must be at least 100.'],
    [{ HTTP_KEEP_ALIVE_TIMEOUT_MS: 'soon' }, 'Invalid HTTP_KEEP_ALIVE_TIMEOUT_MS="soon": must be a whole number from 1000 to 600000.'],
    [{ HTTP_KEEP_ALIVE_TIMEOUT_MS: '600001' }, 'Invalid HTTP_KEEP_ALIVE_TIMEOUT_MS="600001": must be at most 600000.'],
    [{ UPSTREAM_RETRY_BASE_DELAY_MS: '-1' }, 'Invalid UPSTREAM_RETRY_BASE_DELAY_MS="-1": must be at least 0.'],
    [{ UPSTREAM_RETRY_BASE_DELAY_MS: 'fast' }, 'Invalid UPSTREAM_RETRY_BASE_DELAY_MS="fast": must be a whole number from 0 to 60000.'],
    [{ UPSTREAM_RETRY_MAX_DELAY_MS: '60001' }, 'Invalid UPSTREAM_RETRY_MAX_DELAY_MS="60001": must be at most 60000.'],
    // Digits only: a blank, hex or an exponent is no port.
    [{ PORT: ' ' }, 'Invalid PORT=" ": must be a whole number from 0 to 65535.'],
    [{ PORT: '0x61A0' }, 'Invalid PORT="0x61A0": must be a whole number from 0 to 65535.'],
    [{ PORT: '1e3' }, 'Invalid PORT="1e3": must be a whole number from 0 to 65535.'],
    [{ WORKERS: ' ' }, 'Invalid WORKERS=" ": must be a whole number from 1 to 64.'],
    [{ OTEL_TRACES_SAMPLER_ARG: ' ' }, 'Invalid OTEL_TRACES_SAMPLER_ARG=" ": must be a number from 0 to 1.'],
    [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'Invalid OTEL_TRACES_SAMPLER_ARG="1.5": must be at most 1.'],
    [{ OTEL_RESOURCE_ATTRIBUTES: 'team' }, 'Invalid OTEL_RESOURCE_ATTRIBUTES="team": "team" is not key=value.'],
    // A browser's Origin is scheme, host and port: an entry with more (or less) could never match it.
    ...['https://app.example.com/dashboard', 'localhost:5100', 'ftp://app.example.com', 'https://app.example.com?x=1', 'https://app.example.com/#x', 'https://*.example.com'].map(
      (value): [Record<string, string>, string] => [
        { CORS_ORIGINS: value },
        `Invalid CORS_ORIGINS="${value.replace(/[?#].*/, (rest) => `${rest[0]}***`)}": must be a comma-separated list of origins, each a scheme, host and optional port with no path (https://app.example.com), or *.`,
      ],
    ),
    // `*` in a list would open CORS to every origin while reading as a list of a few.
    [{ CORS_ORIGINS: 'https://app.example.com, *' }, 'Invalid CORS_ORIGINS="https://app.example.com, *": * allows every origin and cannot be listed beside others: set it alone, or list the origins without it.'],
    // A pool smaller than the bulkhead queues admitted calls inside undici with their deadline running (README "Upstream faults").
    [
      { UPSTREAM_CONNECTIONS: '64' },
      'UPSTREAM_CONNECTIONS=64 is fewer than UPSTREAM_MAX_CONCURRENT=256: calls would wait for a socket with their deadline running; unset UPSTREAM_CONNECTIONS or set it to at least 256.',
    ],
    [
      { UPSTREAM_MAX_CONCURRENT: '16', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '17' },
      "UPSTREAM_MAX_CONCURRENT_PER_CALLER=17 is above UPSTREAM_MAX_CONCURRENT=16: a caller's share cannot be larger than the bulkhead. Lower UPSTREAM_MAX_CONCURRENT_PER_CALLER or raise UPSTREAM_MAX_CONCURRENT.",
    ],
    [{ OTEL_RESOURCE_ATTRIBUTES: 'team=%zz' }, 'Invalid OTEL_RESOURCE_ATTRIBUTES="team=%zz": the value of team is not percent-encoded.'],
    // A proxy list that cannot be read would leave every line naming the proxy, or believe a header anyone can send.
    [
      { TRUSTED_PROXIES: 'loopback, proxy.internal' },
      'Invalid TRUSTED_PROXIES="loopback, proxy.internal": must be a comma-separated list of IP addresses, CIDR ranges or loopback, linklocal, uniquelocal: "proxy.internal" is none (IPv4 is four numbers, as in 10.0.0.1 or 10.0.0.0/8; the names are lower case).',
    ],
    // proxy-addr reads legacy forms: `10` was the address 0.0.0.10, most likely 10.0.0.0/8 mistyped.
    ...['10', '0x10', '010.0.0.1', '10.1', '10.0.0.0/x', '10.0.0.0/255.0', 'LOOPBACK'].map((value): [Record<string, string>, string] => [
      { TRUSTED_PROXIES: `loopback, ${value}` },
      `Invalid TRUSTED_PROXIES="loopback, ${value}": must be a comma-separated list of IP addresses, CIDR ranges or loopback, linklocal, uniquelocal: "${value}" is none (IPv4 is four numbers, as in 10.0.0.1 or 10.0.0.0/8; the names are lower case).`,
    ]),
    // The entry is quoted as the whole value is, up to 100 characters.
    [{ TRUSTED_PROXIES: 'x'.repeat(300) }, `Invalid TRUSTED_PROXIES="${'x'.repeat(100)}…": must be a comma-separated list of IP addresses, CIDR ranges or loopback, linklocal, uniquelocal: "${'x'.repeat(100)}" is none`],
    [{ TRUSTED_PROXIES: ' , ' }, 'Invalid TRUSTED_PROXIES=" , ": must list at least one proxy (unset, the header is ignored).'],
    [{ TRUSTED_PROXIES: '10.0.0.0/33' }, 'Invalid TRUSTED_PROXIES="10.0.0.0/33": must be a comma-separated list of IP addresses, CIDR ranges or loopback, linklocal, uniquelocal: invalid range on address: 10.0.0.0/33.'],
    // Bound, it failed with EADDRINUSE, as if another program held the port.
    [{ PORT: '9464' }, "METRICS_PORT=9464 (its default) is the API's PORT: pick another port for /metrics, or METRICS=api to serve it on the API's port."],
    [{ METRICS_PORT: '4000' }, "METRICS_PORT=4000 is the API's PORT (its default): pick another port for /metrics, or METRICS=api to serve it on the API's port."],
    // A name may be the other's address: `localhost` and 127.0.0.1 bound the same port twice, and the second failed with EADDRINUSE.
    [{ PORT: '8080', METRICS_PORT: '8080', HOST: 'localhost' }, "METRICS_PORT=8080 is the API's PORT: pick another port for /metrics, or METRICS=api to serve it on the API's port."],
    [{ PORT: '8080', METRICS_PORT: '8080', HOST: '::1', METRICS_HOST: 'localhost' }, "METRICS_PORT=8080 is the API's PORT: pick another port"],
    [{ PORT: '8080', METRICS_PORT: '8080' }, "METRICS_PORT=8080 is the API's PORT: pick another port for /metrics, or METRICS=api to serve it on the API's port."],
    [{ PORT: '8080', METRICS_PORT: '8080', HOST: '0.0.0.0', METRICS_HOST: '127.0.0.1' }, "METRICS_PORT=8080 is the API's PORT: pick another port for /metrics, or METRICS=api to serve it on the API's port."],
    [{ OTEL_TRACES_SAMPLER: 'xray' }, 'Invalid OTEL_TRACES_SAMPLER="xray": must be always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio.'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' }, 'Invalid OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="collector:4318": must be an http(s) URL such as http://127.0.0.1:4318/v1/traces.'],
    // Secrets and credentials are never quoted.
    [{ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_SECRET: 'short-s3cr3t' }, 'Invalid REDIS_KEY_SECRET=(hidden): must be at least 32 characters.'],
    [{ REDIS_URL: 'redis://:s3cr3tpass@127.0.0.1:notaport' }, 'Invalid REDIS_URL="redis://***@127.0.0.1:notaport": must be a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/abc' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379/abc": must have no path but a database number: redis://127.0.0.1:6379/0.'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/-1' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379/-1": must have no path but a database number: redis://127.0.0.1:6379/0.'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/0/x' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379/0/x": must have no path but a database number: redis://127.0.0.1:6379/0.'],
    [{ REDIS_URL: 'redis:/127.0.0.1:6379' }, 'Invalid REDIS_URL="redis:/127.0.0.1:6379": must name a host: redis://127.0.0.1:6379 (two slashes).'],
    [{ REDIS_URL: 'redis:127.0.0.1:6379' }, 'Invalid REDIS_URL="redis:127.0.0.1:6379": must name a host: redis://127.0.0.1:6379 (two slashes).'],
    // ioredis reads options from the query over the gateway's own: `?db=abc` ended the process at its first connection.
    [{ REDIS_URL: 'redis://127.0.0.1:6379?db=abc' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379?***": must carry no query string or fragment (ioredis would take its options from it over the gateway\'s): the database is the path, redis://127.0.0.1:6379/0.'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/?db=' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379/?***": must carry no query string or fragment'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/0?commandTimeout=30000&enableOfflineQueue=true' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379/0?***": must carry no query string or fragment'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/0#x' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379/0#***": must carry no query string or fragment'],
    [{ UPSTREAM_URL: 'https://user:s3cr3t@api.example.com/?x' }, 'Invalid UPSTREAM_URL="https://***@api.example.com/?***": must not carry a query string or fragment.'],
    [
      { UPSTREAM_URL: 'http://svc:s3cr3t@127.0.0.1:8080/api' },
      'Invalid UPSTREAM_URL="http://***@127.0.0.1:8080/api": must not carry credentials (user:password@): upstream is called with each caller\'s own Authorization header.',
    ],
    // A password with an unencoded /, ?, # or @ is what makes such a URL invalid, so it is the one that gets quoted.
    [{ REDIS_URL: 'redis://:se/s3cr3t@127.0.0.1:6379' }, 'Invalid REDIS_URL="redis://***@127.0.0.1:6379": must be a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'redis://:se#s3cr3t@127.0.0.1:6379' }, 'Invalid REDIS_URL="redis://***@127.0.0.1:6379": must be a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'redis://:se?s3cr3t@127.0.0.1:6379/0' }, 'Invalid REDIS_URL="redis://***@127.0.0.1:6379/0": must be a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'redis://:s3/cr@3t@127.0.0.1:6379' }, 'Invalid REDIS_URL="redis://***@127.0.0.1:6379": must be a redis:// or rediss:// URL'],
    [{ UPSTREAM_URL: 'https://user:pa#s3cr3t@api.example.com' }, 'Invalid UPSTREAM_URL="https://***@api.example.com": must be an http(s) URL such as http://127.0.0.1:8080.'],
    [{ UPSTREAM_URL: 'https://user:pa/s3cr3t@api.example.com/v1' }, 'Invalid UPSTREAM_URL="https://***@api.example.com/v1": must be an http(s) URL such as http://127.0.0.1:8080.'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:pa#s3cr3t@otel.example.com:4318' }, 'Invalid OTEL_EXPORTER_OTLP_ENDPOINT="https://***@otel.example.com:4318": must be an http(s) URL'],
    // In a list, everything from the first // to the last @ goes: more than the credentials, never less.
    [{ CORS_ORIGINS: 'https://a.example.com, https://u:s3/cr3t@b.example.com' }, 'Invalid CORS_ORIGINS="https://***@b.example.com": must be a comma-separated list'],
    // Refused for a mistake elsewhere, a URL setting still hides whatever could be a credential: a forgotten scheme or
    // slash, a key in the query string, a username alone, a Redis password in the query (ioredis reads it there).
    [{ UPSTREAM_URL: 'admin:s3cr3tT0ken@api.example.com' }, 'Invalid UPSTREAM_URL="***@api.example.com": must be an http(s) URL'],
    [{ UPSTREAM_URL: 'https://api.example.com/?api_key=s3cr3t' }, 'Invalid UPSTREAM_URL="https://api.example.com/?***": must not carry a query string or fragment.'],
    [{ UPSTREAM_URL: 'https:/user:s3cr3t@api.example.com' }, 'Invalid UPSTREAM_URL="https:/***@api.example.com": must'],
    [{ UPSTREAM_URL: 'https:user:s3cr3t@api.example.com' }, 'Invalid UPSTREAM_URL="https:***@api.example.com": must'],
    [{ UPSTREAM_URL: 'https://s3cr3t@api.example.com' }, 'Invalid UPSTREAM_URL="https://***@api.example.com": must not carry credentials'],
    [{ REDIS_URL: ':s3cr3tpw@redis.internal:6379' }, 'Invalid REDIS_URL="***@redis.internal:6379": must be a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'redis:/:s3cr3tpw@127.0.0.1:6379' }, 'Invalid REDIS_URL="redis:/***@127.0.0.1:6379": must name a host'],
    [{ REDIS_URL: 'redis::s3cr3tpw@127.0.0.1:6379' }, 'Invalid REDIS_URL="redis:***@127.0.0.1:6379": must'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/abc?password=s3cr3t' }, 'Invalid REDIS_URL="redis://127.0.0.1:6379/abc?***": must have no path but a database number'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 's3cr3tkey@collector:4318' }, 'Invalid OTEL_EXPORTER_OTLP_ENDPOINT="***@collector:4318": must be an http(s) URL'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318/v1/traces?token=s3cr3t' }, 'Invalid OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="collector:4318/v1/traces?***": must be an http(s) URL'],
    // A value is quoted up to 100 characters.
    [{ PORT: 'x'.repeat(300) }, `Invalid PORT="${'x'.repeat(100)}…": must be a whole number from 0 to 65535.`],
    // A blank in a password makes the URL invalid just the same.
    [
      { UPSTREAM_URL: 'https://svc:pa s3cr3t@api.example.com' },
      'Invalid UPSTREAM_URL="https://***@api.example.com": must not carry credentials (user:password@): upstream is called with each caller\'s own Authorization header.',
    ],
    // V8 makes no string over 0x1fffffe8 characters (about 512 MiB): a larger body could not be read, only retried.
    [{ UPSTREAM_MAX_BODY_BYTES: '2147483648' }, 'Invalid UPSTREAM_MAX_BODY_BYTES="2147483648": must be at most 268435456.'],
    [{ UPSTREAM_MAX_BODY_BYTES: '268435457' }, 'Invalid UPSTREAM_MAX_BODY_BYTES="268435457": must be at most 268435456.'],
    [{ REDIS_CACHE_MAX_VALUE_BYTES: '536870912' }, 'Invalid REDIS_CACHE_MAX_VALUE_BYTES="536870912": must be at most 268435456.'],
    // Blank text: no interface, key prefix, service name, pattern or secret is only spaces.
    [{ HOST: ' ' }, 'Invalid HOST=" ": must not be blank.'],
    [{ METRICS_HOST: '  ' }, 'Invalid METRICS_HOST="  ": must not be blank.'],
    [{ REDIS_KEY_PREFIX: ' ' }, 'Invalid REDIS_KEY_PREFIX=" ": must not be blank.'],
    [{ OTEL_SERVICE_NAME: ' \t' }, 'Invalid OTEL_SERVICE_NAME=" \\t": must not be blank.'],
    [{ EXECUTION_ID_PATTERN: ' ' }, 'Invalid EXECUTION_ID_PATTERN=" ": must not be blank.'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_SECRET: ' '.repeat(40) }, 'Invalid REDIS_KEY_SECRET=(hidden): must not be blank.'],
    // An interface with a blank in or around it: refused, not trimmed, quoted so that the blank shows and a line break
    // stays on the one line (it failed only at listen, `getaddrinfo ENOTFOUND`, after a space nobody saw).
    ...(
      [
        ['HOST', ' 127.0.0.1'],
        ['HOST', '127.0.0.1\n'],
        ['HOST', '\t::1'],
        ['HOST', '127.0.0.1 ::1'],
        ['METRICS_HOST', '0.0.0.0 '],
        ['METRICS_HOST', '127.0.0.1\r\n'],
      ] as const
    ).map(([name, value]): [Record<string, string>, string] => [
      { [name]: value },
      `Invalid ${name}=${JSON.stringify(value)}: must be an address or host name with no spaces or line breaks in or around it (127.0.0.1, 0.0.0.0, ::1, localhost).`,
    ]),
    // A name with a blank around it: another replica's prefix or service, quietly.
    [{ REDIS_KEY_PREFIX: ' gw:' }, 'Invalid REDIS_KEY_PREFIX=" gw:": must not start or end with a space, tab or line break.'],
    [{ REDIS_KEY_PREFIX: 'gw:\n' }, 'Invalid REDIS_KEY_PREFIX="gw:\\n": must not start or end with a space, tab or line break.'],
    [{ OTEL_SERVICE_NAME: 'gateway ' }, 'Invalid OTEL_SERVICE_NAME="gateway ": must not start or end with a space, tab or line break.'],
  ])('stops on %o with one line saying what to fix', (env, message) => {
    expect(() => readConfig(env)).not.toThrow(/s3cr3t/);
    expect(() => readConfig(env)).toThrow(ConfigError);
    expect(() => readConfig(env)).toThrow(message);
    expect(message).not.toContain('\n');
  });
});

describe('settings that contradict each other', () => {
  // Only what can never be honoured is refused, and only when the deployer set the smaller-side setting.
  it.each([
    [
      { UPSTREAM_RETRY_BASE_DELAY_MS: '60000', UPSTREAM_RETRY_MAX_DELAY_MS: '0' },
      'UPSTREAM_RETRY_BASE_DELAY_MS=60000 is above UPSTREAM_RETRY_MAX_DELAY_MS=0: the first retry pause cannot be longer than the longest. Lower UPSTREAM_RETRY_BASE_DELAY_MS or raise UPSTREAM_RETRY_MAX_DELAY_MS.',
    ],
    [
      { UPSTREAM_RETRY_BASE_DELAY_MS: '2000' },
      'UPSTREAM_RETRY_BASE_DELAY_MS=2000 is above UPSTREAM_RETRY_MAX_DELAY_MS=1000 (its default): the first retry pause cannot be longer than the longest. Lower UPSTREAM_RETRY_BASE_DELAY_MS or raise UPSTREAM_RETRY_MAX_DELAY_MS.',
    ],
    [
      { LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '1000000', LIVE_MAX_SUBSCRIPTIONS: '1' },
      'LIVE_MAX_SUBSCRIPTIONS_PER_CALLER=1000000 is above LIVE_MAX_SUBSCRIPTIONS=1: one caller can never hold more live subscriptions than the whole process. Lower LIVE_MAX_SUBSCRIPTIONS_PER_CALLER or raise LIVE_MAX_SUBSCRIPTIONS.',
    ],
    [
      { LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '20000' },
      'LIVE_MAX_SUBSCRIPTIONS_PER_CALLER=20000 is above LIVE_MAX_SUBSCRIPTIONS=10000 (its default): one caller can never hold more live subscriptions than the whole process. Lower LIVE_MAX_SUBSCRIPTIONS_PER_CALLER or raise LIVE_MAX_SUBSCRIPTIONS.',
    ],
  ])('refuses %o in one line', (env, message) => {
    expect(() => readConfig(env)).toThrow(ConfigError);
    expect(() => readConfig(env)).toThrow(message);
  });

  it.each([
    // Lowering only the larger side keeps its partner's default below it: that works as asked.
    { UPSTREAM_RETRY_MAX_DELAY_MS: '0' },
    { UPSTREAM_RETRY_MAX_DELAY_MS: '10' },
    { LIVE_MAX_SUBSCRIPTIONS: '2' },
    { UPSTREAM_RETRY_BASE_DELAY_MS: '1000', UPSTREAM_RETRY_MAX_DELAY_MS: '1000' },
    { LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '5', LIVE_MAX_SUBSCRIPTIONS: '5' },
  ])('accepts %o', (env) => {
    expect(() => readConfig(env)).not.toThrow();
  });
});

/** The lines of the ConfigError readConfig throws for `env` (none: it did not throw). */
function refusal(env: Record<string, string>): string[] {
  try {
    readConfig(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n');
  }
}

describe('several refused values', () => {
  it('are refused all at once, one line each in the order of the tables, so one deploy mends them all', () => {
    const env = { LOG_LEVEL: 'verbose', NODE_ENV: 'prod', PORT: 'abc', UPSTREAM_URL: 'https://u:s3cr3t@api.example.com/?k', WORKERS: '0' };
    expect(() => readConfig(env)).toThrow(ConfigError);
    let message = '';
    try {
      readConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'Invalid NODE_ENV="prod": must be production, development or test (lower case), or unset.',
      'Invalid PORT="abc": must be a whole number from 0 to 65535.',
      'Invalid WORKERS="0": must be at least 1.',
      'Invalid UPSTREAM_URL="https://***@api.example.com/?***": must not carry a query string or fragment.',
      "Invalid UPSTREAM_URL=\"https://***@api.example.com/?***\": must not carry credentials (user:password@): upstream is called with each caller's own Authorization header.",
      expect.stringMatching(/^Invalid LOG_LEVEL="verbose": must be /),
    ]);
  });

  it('come with every contradiction between values that were each taken, after them, so one deploy mends those too', () => {
    const env = {
      PORT: '9464',
      WORKERS: '0',
      UPSTREAM_RETRY_BASE_DELAY_MS: '2000',
      UPSTREAM_CONNECTIONS: '10',
      UPSTREAM_MAX_CONCURRENT_PER_CALLER: '300',
      LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '20000',
      WS_MAX_MESSAGES_PER_SECOND: '0',
      REDIS_URL: 'redis://127.0.0.1:6379',
    };
    expect(refusal(env)).toEqual([
      'Invalid WORKERS="0": must be at least 1.',
      'Invalid WS_MAX_MESSAGES_PER_SECOND="0": must be at least 1.',
      'UPSTREAM_CONNECTIONS=10 is fewer than UPSTREAM_MAX_CONCURRENT=256: calls would wait for a socket with their deadline running; unset UPSTREAM_CONNECTIONS or set it to at least 256.',
      "UPSTREAM_MAX_CONCURRENT_PER_CALLER=300 is above UPSTREAM_MAX_CONCURRENT=256 (its default): a caller's share cannot be larger than the bulkhead. Lower UPSTREAM_MAX_CONCURRENT_PER_CALLER or raise UPSTREAM_MAX_CONCURRENT.",
      'UPSTREAM_RETRY_BASE_DELAY_MS=2000 is above UPSTREAM_RETRY_MAX_DELAY_MS=1000 (its default): the first retry pause cannot be longer than the longest. Lower UPSTREAM_RETRY_BASE_DELAY_MS or raise UPSTREAM_RETRY_MAX_DELAY_MS.',
      'LIVE_MAX_SUBSCRIPTIONS_PER_CALLER=20000 is above LIVE_MAX_SUBSCRIPTIONS=10000 (its default): one caller can never hold more live subscriptions than the whole process. Lower LIVE_MAX_SUBSCRIPTIONS_PER_CALLER or raise LIVE_MAX_SUBSCRIPTIONS.',
      "METRICS_PORT=9464 (its default) is the API's PORT: pick another port for /metrics, or METRICS=api to serve it on the API's port.",
      'REDIS_URL is set but REDIS_KEY_SECRET is not: set it to the same random string of at least 32 characters on every replica.',
    ]);
  });

  // A comparison with a refused value would quote what was never taken (`UPSTREAM_MAX_CONCURRENT=NaN`), or blame the other side.
  it.each([
    [{ UPSTREAM_MAX_CONCURRENT: 'many', UPSTREAM_CONNECTIONS: '10', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '300' }, ['Invalid UPSTREAM_MAX_CONCURRENT="many": must be a whole number from 1 to 100000.']],
    [{ UPSTREAM_MAX_CONCURRENT: '16', UPSTREAM_CONNECTIONS: 'x', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '0' }, ['Invalid UPSTREAM_MAX_CONCURRENT_PER_CALLER="0": must be at least 1.', 'Invalid UPSTREAM_CONNECTIONS="x": must be a whole number from 1 to 100000.']],
    [{ LIVE_MAX_SUBSCRIPTIONS: '0', LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '20000' }, ['Invalid LIVE_MAX_SUBSCRIPTIONS="0": must be at least 1.']],
    [{ UPSTREAM_RETRY_BASE_DELAY_MS: '2000', UPSTREAM_RETRY_MAX_DELAY_MS: 'soon' }, ['Invalid UPSTREAM_RETRY_MAX_DELAY_MS="soon": must be a whole number from 0 to 60000.']],
    [{ PORT: '9464', METRICS_HOST: ' 127.0.0.1' }, ['Invalid METRICS_HOST=" 127.0.0.1": must be an address or host name with no spaces or line breaks in or around it (127.0.0.1, 0.0.0.0, ::1, localhost).']],
    [{ REDIS_URL: 'redis:/127.0.0.1:6379' }, ['Invalid REDIS_URL="redis:/127.0.0.1:6379": must name a host: redis://127.0.0.1:6379 (two slashes).']],
  ])('skip a contradiction one of whose values was refused: %o', (env, lines) => {
    expect(refusal(env)).toEqual(lines);
  });
});

/**
 * The trusted-documents manifest is a file a setting needs: its mistakes came one start after the settings' own, once
 * those were mended (the gateway read it as it was made), so a deploy with both failed twice.
 */
describe('the trusted-documents manifest, beside the settings', () => {
  const manifestFile = (manifest: Record<string, string>) => {
    const file = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'persisted-documents.json');
    writeFileSync(file, JSON.stringify(manifest));
    return pathToFileURL(file);
  };
  const EMPTY = manifestFile({});
  const INTROSPECTION_ONLY = manifestFile({ [sha256('{ __schema { queryType { name } } }')]: '{ __schema { queryType { name } } }' });
  /** The lines readConfig refuses `env` with, and the settings the manifest was checked under, each time it was. */
  function refusedWith(env: Record<string, string>, url: URL): { lines: string[]; checked: unknown[] } {
    const checked: unknown[] = [];
    const manifest: ManifestCheck = (settings) => {
      checked.push(settings);
      return manifestRefusal(settings, url);
    };
    try {
      readConfig(env, { manifest });
      return { lines: [], checked };
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return { lines: (error as Error).message.split('\n'), checked };
    }
  }

  it('is refused in the same start as refused values and contradictions, after them, in its own line', () => {
    const { lines, checked } = refusedWith({ PORT: 'abc', TRUSTED_DOCUMENTS: 'only', UPSTREAM_CONNECTIONS: '10' }, EMPTY);
    expect(lines).toEqual([
      'Invalid PORT="abc": must be a whole number from 0 to 65535.',
      'UPSTREAM_CONNECTIONS=10 is fewer than UPSTREAM_MAX_CONCURRENT=256: calls would wait for a socket with their deadline running; unset UPSTREAM_CONNECTIONS or set it to at least 256.',
      `${fileURLToPath(EMPTY)}: holds no document: run npm run generate.`,
    ]);
    expect(checked).toEqual([{ introspection: true, limits: defaultOperationLimits() }]);
    // Unreadable, with every setting taken: the line the gateway itself gave, now from the settings' reading.
    const absent = new URL('absent.json', EMPTY);
    expect(refusedWith({ TRUSTED_DOCUMENTS: 'allow' }, absent).lines).toEqual([
      expect.stringMatching(new RegExp(`^TRUSTED_DOCUMENTS needs the persisted-documents manifest ${fileURLToPath(absent)}: ENOENT[^\\n]*, or set TRUSTED_DOCUMENTS=off$`)),
    ]);
  });

  it('is held to INTROSPECTION as taken, and to the rules that take introspection when INTROSPECTION is refused itself', () => {
    expect(refusedWith({ TRUSTED_DOCUMENTS: 'allow', INTROSPECTION: 'false' }, INTROSPECTION_ONLY).lines).toEqual([
      expect.stringMatching(/is refused on every request: GraphQL introspection has been disabled/),
    ]);
    const refusedIntrospection = refusedWith({ TRUSTED_DOCUMENTS: 'allow', INTROSPECTION: 'no' }, EMPTY);
    expect(refusedIntrospection.lines).toEqual(['Invalid INTROSPECTION="no": must be true or false.', `${fileURLToPath(EMPTY)}: holds no document: run npm run generate.`]);
    expect(refusedIntrospection.checked).toEqual([{ introspection: true, limits: defaultOperationLimits() }]);
  });

  it('is not read with TRUSTED_DOCUMENTS=off, nor when TRUSTED_DOCUMENTS is refused itself, which its own line says once', () => {
    expect(refusedWith({ TRUSTED_DOCUMENTS: 'off' }, EMPTY)).toEqual({ lines: [], checked: [] });
    expect(refusedWith({}, EMPTY)).toEqual({ lines: [], checked: [] });
    expect(refusedWith({ TRUSTED_DOCUMENTS: 'yes', PORT: 'abc' }, EMPTY)).toEqual({
      lines: ['Invalid PORT="abc": must be a whole number from 0 to 65535.', 'Invalid TRUSTED_DOCUMENTS="yes": must be off, allow or only.'],
      checked: [],
    });
  });

  it('src/main.ts refuses a broken manifest and a refused value in one start, exit code 1', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'gateway-manifest-'));
    try {
      for (const entry of ['src', 'schema', 'package.json', 'tsconfig.json']) cpSync(join(root, entry), join(dir, entry), { recursive: true });
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
      const manifest = join(dir, 'schema', 'persisted-documents.json');
      writeFileSync(manifest, JSON.stringify({ ['0'.repeat(64)]: 'query X { __typename }' }));
      const { code, lines } = await refusedStart({ TRUSTED_DOCUMENTS: 'only', PORT: '-1', METRICS: 'off' }, dir);
      expect(code).toBe(1);
      expect(lines).toEqual([
        'execution-gateway: Invalid PORT="-1": must be at least 0.',
        `execution-gateway: ${manifest}: 1 of its 1 keys is not the sha256 of the document filed under it: "${'0'.repeat(64)}", whose document's sha256 is ${sha256('query X { __typename }')}: run npm run generate.`,
        '',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // tsx takes 10-40 s to start on a loaded 2-core CI machine, more from a fresh copy of src with nothing cached.
  }, 60_000);
});

describe('a URL setting with several mistakes', () => {
  it('is refused for each of them at once, one line each, in the order the rules are declared', () => {
    expect(refusal({ UPSTREAM_URL: 'http://u:p@api.example.com/v1?x=1' })).toEqual([
      'Invalid UPSTREAM_URL="http://***@api.example.com/v1?***": must not carry a query string or fragment.',
      "Invalid UPSTREAM_URL=\"http://***@api.example.com/v1?***\": must not carry credentials (user:password@): upstream is called with each caller's own Authorization header.",
      'Invalid UPSTREAM_URL="http://***@api.example.com/v1?***": must be the base URL of the executions API, without `/v1` or `/v1/executions`: the gateway appends `/v1/executions/{id}` itself (https://api.example.com, not https://api.example.com/v1).',
    ]);
    expect(refusal({ REDIS_URL: 'redis://127.0.0.1:6379/abc?db=1', REDIS_KEY_SECRET: 'x'.repeat(32) })).toEqual([
      'Invalid REDIS_URL="redis://127.0.0.1:6379/abc?***": must have no path but a database number: redis://127.0.0.1:6379/0.',
      "Invalid REDIS_URL=\"redis://127.0.0.1:6379/abc?***\": must carry no query string or fragment (ioredis would take its options from it over the gateway's): the database is the path, redis://127.0.0.1:6379/0.",
    ]);
  });

  it('is refused once when it is no URL of its kind: the rules on its parts would judge what is not one', () => {
    expect(refusal({ UPSTREAM_URL: 'ftp://u:p@api.example.com/v1?x=1' })).toEqual(['Invalid UPSTREAM_URL="***@api.example.com/v1?***": must be an http(s) URL such as http://127.0.0.1:8080.']);
  });
});

describe('EXECUTION_ID_PATTERN with several mistakes', () => {
  it('is refused for each that applies: unanchored and beyond RE2 at once, but nothing more once JavaScript cannot read it', () => {
    expect(refusal({ EXECUTION_ID_PATTERN: '(?=ex_)\\w+' })).toEqual([
      'Invalid EXECUTION_ID_PATTERN="(?=ex_)\\\\w+": must match whole ids: start it with ^ and end it with $, as in ^(?:your pattern)$.',
      expect.stringMatching(/^Invalid EXECUTION_ID_PATTERN="\(\?=ex_\)\\\\w\+": must be a pattern RE2 reads .*RE2 says: invalid or unsupported Perl syntax: `\(\?=`\.$/),
    ]);
    expect(refusal({ EXECUTION_ID_PATTERN: '(' })).toHaveLength(1);
  });
});

describe('REDIS_URL', () => {
  it.each(['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/', 'redis://127.0.0.1:6379/0', 'rediss://:pw@redis.example.com:6380/15'])('takes %s: a host, and no path but a database number', (url) => {
    expect(readConfig({ REDIS_URL: url, REDIS_KEY_SECRET: 'x'.repeat(32) }).sharedState.redisUrl).toBe(url);
  });
});

describe('variables that nearly name a setting', () => {
  it('names the setting each misspelling is closest to: a letter missing or added, two swapped, another case', () => {
    expect(
      nearMissSettings({ METRIC_PORT: '9504', UPSTREAM_TIMEOUTMS: '5', OTEL_EXPORTER_OTLP_ENDPIONT: 'http://127.0.0.1:4318', port: '4000', REDIS_URLS: 'redis://x' }),
    ).toEqual([
      { variable: 'METRIC_PORT', setting: 'METRICS_PORT' },
      { variable: 'UPSTREAM_TIMEOUTMS', setting: 'UPSTREAM_TIMEOUT_MS' },
      { variable: 'OTEL_EXPORTER_OTLP_ENDPIONT', setting: 'OTEL_EXPORTER_OTLP_ENDPOINT' },
      { variable: 'port', setting: 'PORT' },
      { variable: 'REDIS_URLS', setting: 'REDIS_URL' },
    ]);
  });

  it("names the setting whose letters a variable has: underscores left out, another unit or none at its end", () => {
    expect(
      nearMissSettings({ UPSTREAMURL: 'x', LOGLEVEL: 'info', ACCESSLOG: 'all', UPSTREAM_TIMEOUT: '5', SHUTDOWN_GRACE_SECONDS: '20', UPSTREAM_TIMEOUT_SECONDS: '5' }),
    ).toEqual([
      { variable: 'UPSTREAMURL', setting: 'UPSTREAM_URL' },
      { variable: 'LOGLEVEL', setting: 'LOG_LEVEL' },
      { variable: 'ACCESSLOG', setting: 'ACCESS_LOG' },
      { variable: 'UPSTREAM_TIMEOUT', setting: 'UPSTREAM_TIMEOUT_MS' },
      { variable: 'SHUTDOWN_GRACE_SECONDS', setting: 'SHUTDOWN_GRACE_MS' },
      { variable: 'UPSTREAM_TIMEOUT_SECONDS', setting: 'UPSTREAM_TIMEOUT_MS' },
    ]);
    // No two settings share their letters, so each such variable names one.
    const letters = settingNames().map((name) => name.replace(/_(?:MS|MILLIS|MILLISECONDS|S|SEC|SECS|SECONDS)$/, '').replaceAll('_', ''));
    expect(new Set(letters).size).toBe(letters.length);
  });

  it("names REDIS_URL for the variables other software reads Redis from, which it holds all of, in any case", () => {
    expect(nearMissSettings({ REDIS_HOST: 'redis', REDIS_PORT: '6379', REDIS_PASSWORD: 'secret', REDIS_USERNAME: 'gw', REDIS_USER: 'gw', redis_db: '2' })).toEqual([
      { variable: 'REDIS_HOST', setting: 'REDIS_URL' },
      { variable: 'REDIS_PORT', setting: 'REDIS_URL' },
      { variable: 'REDIS_PASSWORD', setting: 'REDIS_URL' },
      { variable: 'REDIS_USERNAME', setting: 'REDIS_URL' },
      { variable: 'REDIS_USER', setting: 'REDIS_URL' },
      { variable: 'redis_db', setting: 'REDIS_URL' },
    ]);
  });

  it("leaves alone the settings themselves, a machine's own variables and OpenTelemetry's, however close in letters", () => {
    const env = Object.fromEntries(settingNames().map((name) => [name, 'x']));
    expect(nearMissSettings(env)).toEqual([]);
    expect(
      nearMissSettings({
        HOME: '/root',
        PATH: '/usr/bin',
        HOSTNAME: 'vm',
        NODE_OPTIONS: '',
        npm_package_name: 'execution-gateway',
        npm_config_cache: '/root/.npm',
        OTEL_RESOURCE_ATTRIBUTES: 'a=b',
        OTEL_EXPORTER_OTLP_HEADERS: 'x=y',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_LOG_LEVEL: 'info',
        // A container's and a platform's own.
        KUBERNETES_SERVICE_HOST: '10.0.0.1',
        KUBERNETES_PORT: 'tcp://10.0.0.1:443',
        HTTPS_PROXY: 'http://proxy:3128',
        NO_PROXY: 'localhost',
        NODE_VERSION: '20.20.2',
        NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
        UNSET_PORT: undefined,
      }),
    ).toEqual([]);
  });

  it('is logged once at start, naming the variable and the setting, never the value (and a REDIS_KEY_SECRET without REDIS_URL)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: '0', METRICS: 'off', METRIC_PORT: 'secret-looking-value', SHUTDOWN_UNREADY_MS: '0', REDIS_KEY_SECRET: 'k'.repeat(32), UPSTREAM_TIMEOUT_MS: '30000', REQUEST_BUDGET_MS: '15000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      // tsx takes 10-40 s to start on a loaded 2-core CI machine: what is tested is what it logs, not how soon.
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 50_000);
      child.stdout.on('data', () => {
        if (out.includes('"listening"') || out.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const warnings = out.split('\n').filter((line) => line.includes('is no setting'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, variable: 'METRIC_PORT', setting: 'METRICS_PORT', msg: 'METRIC_PORT is no setting and is ignored: did you mean METRICS_PORT?' });
    expect(out).not.toContain('secret-looking-value');
    // A secret for a Redis it was not given: the replica shares nothing, which is said once too.
    expect(out.split('\n').filter((line) => line.includes('REDIS_KEY_SECRET is set but REDIS_URL is not'))).toHaveLength(1);
    expect(out).not.toContain('k'.repeat(32));
    // An attempt's deadline past the request's whole budget: a query never waits it out.
    const pastBudget = out.split('\n').filter((line) => line.includes('is longer than REQUEST_BUDGET_MS'));
    expect(pastBudget.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: 40,
        variable: 'UPSTREAM_TIMEOUT_MS',
        msg: "UPSTREAM_TIMEOUT_MS (30000) is longer than REQUEST_BUDGET_MS (15000): a query's attempt is cut at the budget, and only live polls wait the whole timeout; raise REQUEST_BUDGET_MS with it, or lower UPSTREAM_TIMEOUT_MS",
      }),
    ]);
  }, 60_000);

  it('is named beside the refusal when start-up is refused, where it is most often the cause', async () => {
    const { code, lines } = await refusedStart({ NODE_ENV: 'production', UPSTREAM_ULR: 'https://secret-looking-host.example.com', PORT: 'abc' });
    expect(code).toBe(1);
    // The production refusal comes with the refused value, as in the same start, and the misspelling that caused it after both.
    expect(lines).toEqual([
      'execution-gateway: Invalid PORT="abc": must be a whole number from 0 to 65535.',
      expect.stringMatching(/^execution-gateway: UPSTREAM_URL is not set: with NODE_ENV=production /),
      'execution-gateway: UPSTREAM_ULR is no setting and is ignored: did you mean UPSTREAM_URL?',
      '',
    ]);
    // tsx's start, as above.
  }, 60_000);
});

describe('refusals in house style', () => {
  // Bad values for every setting: whatever a setting refuses, it says so in its own words, never zod's.
  const values = ['', ' ', ' 10', '-1', '0', '1e309', '0x10', '10ms', '1.5', '99999999999999999999', '4294967296', 'TRUE', 'yes', 'off', 'INFO', 'x'.repeat(70), '(', 'ftp://x', 'a b'];
  const zodWording = /expected|Invalid (input|option|string|type)|Too (big|small)|received/i;

  it.each(settingNames())('%s', (name) => {
    for (const value of values) {
      const env = { [name]: value, ...(name.startsWith('REDIS_') && name !== 'REDIS_URL' ? { REDIS_URL: 'redis://127.0.0.1:6379' } : {}), ...(name === 'REDIS_KEY_SECRET' ? {} : { REDIS_KEY_SECRET: 'k'.repeat(32) }) };
      let message: string | undefined;
      try {
        readConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      if (message === undefined) continue;
      expect(message, `${name}=${JSON.stringify(value)}`).not.toMatch(zodWording);
      expect(message).not.toContain('\n');
    }
  });

  it.each([
    [{ LOG_LEVEL: 'INFO' }, 'Invalid LOG_LEVEL="INFO": must be one of fatal, error, warn, info, debug, trace or silent (lower case).'],
    [{ REDIS_KEY_PREFIX: 'p'.repeat(65) }, `Invalid REDIS_KEY_PREFIX="${'p'.repeat(65)}": must be 1 to 64 characters.`],
  ])('%o', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});

describe('README "Configuration"', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = new Set(readme.split('\n').filter((line) => line.startsWith('| `')).map((line) => /^\| `([^`]+)` \|/.exec(line)?.[1]));

  it('declares each setting once', () => {
    const names = settingNames();
    expect(names.length).toBeGreaterThanOrEqual(31);
    expect(new Set(names).size).toBe(names.length);
  });

  it('lists every setting in its configuration tables', () => {
    const missing = settingNames().filter((name) => !rows.has(name));
    expect(missing, 'settings with no "| `NAME` |" row in README.md').toEqual([]);
  });
});

describe('the HTTP edge with short time limits', () => {
  it('starts with a request timeout below the default headers timeout (the headers limit is bounded by it)', async () => {
    const { createInstance } = await import('../src/server/instance.js');
    const { createLogger } = await import('../src/logger.js');
    const instance = createInstance(readConfig({ HTTP_REQUEST_TIMEOUT_MS: '500' }), { upstreamUrl: 'http://127.0.0.1:9', logger: createLogger('silent') });
    expect(instance.server.headersTimeout).toBe(500);
    expect(instance.server.requestTimeout).toBe(500);
    await instance.close();
  });

  it('checks the limits every tenth of the shorter one, at least every second and at most every 25 ms', async () => {
    const { timeLimits } = await import('../src/server/time-limits.js');
    const interval = (headersTimeoutMs: number, requestTimeoutMs: number) => timeLimits({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs: 5_000 }).connectionsCheckingInterval;
    // Node checks only every connectionsCheckingInterval: a 408 came up to that long after the limit.
    expect(interval(5_000, 30_000)).toBe(500);
    expect(interval(30_000, 4_000)).toBe(400);
    expect(interval(100, 100)).toBe(25);
    expect(interval(120_000, 120_000)).toBe(1_000);
    expect(timeLimits({ headersTimeoutMs: 60_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 })).toEqual({
      headersTimeout: 30_000,
      requestTimeout: 30_000,
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 5_000,
    });
    expect(timeLimits({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 7_000 })).toMatchObject({ headersTimeout: 10_000, keepAliveTimeout: 7_000 });
  });
});
