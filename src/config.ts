/**
 * Configuration is read from the environment once, validated, and typed. A bad
 * value stops start-up with one line naming the variable and what to fix.
 */
import { z } from 'zod';

export interface GatewayConfig {
  /** Port the gateway listens on. */
  port: number;
  /** Interface to listen on; loopback unless set (use 0.0.0.0 in a container). */
  host: string;
  /** Base URL of the executions API; undefined means "run the built-in demo upstream". */
  upstreamUrl: string | undefined;
  /** Deadline for one upstream call, from connect to the last byte of the body. */
  upstreamTimeoutMs: number;
  /** Ids that may be sent upstream; anything else is BAD_USER_INPUT before any call. */
  executionIdPattern: RegExp;
  /** Upstream calls one GraphQL request may have in flight at once. */
  upstreamConcurrencyPerRequest: number;
  /** Keep-alive sockets in the process-wide upstream pool. */
  upstreamConnections: number;
  /** Upstream bodies larger than this are refused (UPSTREAM_BAD_RESPONSE) before they are buffered. */
  upstreamMaxBodyBytes: number;
  /** Upstream time one GraphQL request may spend in all, retries included. */
  requestBudgetMs: number;
  /** Attempts per upstream call, the first included (retries only transient failures). */
  upstreamMaxAttempts: number;
  /** Longest upstream Retry-After honoured; longer ones are cut to this. */
  upstreamRetryAfterCapMs: number;
  /** Consecutive upstream failures that open the circuit. */
  breakerThreshold: number;
  /** How long the open circuit fails fast before one probe call. */
  breakerHalfOpenAfterMs: number;
  /** Upstream calls in flight per process (bulkhead), and how many may wait. */
  upstreamMaxConcurrent: number;
  upstreamQueue: number;
  /** Largest GraphQL request body accepted; larger ones get 413 before being read. */
  maxRequestBodyBytes: number;
  /** Whether schema introspection is served (bounded in depth either way). */
  introspection: boolean;
  /** Origins allowed by CORS; empty means CORS is closed (same-origin only). */
  corsOrigins: string[];
  /** How long terminal executions are cached per caller (0 turns the cache off). */
  terminalCacheTtlMs: number;
  /** How long other executions may be cached per caller (default 0: not at all). */
  activeCacheTtlMs: number;
  /** Upper bound of the cache, in approximate bytes. */
  cacheMaxBytes: number;
  /** Report each request's upstream cost in `extensions.upstream`. */
  upstreamExtensions: boolean;
  /** Processes to run (node:cluster) on multi-core hosts. */
  workers: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const integer = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const envSchema = z.object({
  PORT: integer(0, 65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  UPSTREAM_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8080' })
    .refine((value) => !URL.canParse(value) || !/[?#]/.test(value), 'must not carry a query string or fragment')
    .optional(),
  UPSTREAM_TIMEOUT_MS: integer(1, 300_000).default(5_000),
  REQUEST_BUDGET_MS: integer(1, 600_000).default(15_000),
  UPSTREAM_MAX_ATTEMPTS: integer(1, 10).default(3),
  UPSTREAM_RETRY_AFTER_CAP_MS: integer(0, 60_000).default(2_000),
  UPSTREAM_BREAKER_THRESHOLD: integer(1, 1_000_000).default(10),
  UPSTREAM_BREAKER_HALF_OPEN_MS: integer(1, 600_000).default(5_000),
  UPSTREAM_MAX_CONCURRENT: integer(1, 100_000).default(256),
  UPSTREAM_QUEUE: integer(0, 1_000_000).default(1_024),
  MAX_REQUEST_BODY_BYTES: integer(256, 16 * 1024 * 1024).default(64 * 1024),
  INTROSPECTION: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  CORS_ORIGINS: z
    .string()
    .refine(
      (value) => value.split(',').every((origin) => origin.trim() === '*' || URL.canParse(origin.trim())),
      'must be a comma-separated list of origins such as https://app.example.com, or *',
    )
    .optional(),
  EXECUTION_ID_PATTERN: z
    .string()
    .refine(isValidRegExp, 'must be a valid regular expression')
    .default('^[A-Za-z0-9_-]{1,64}$'),
  UPSTREAM_CONCURRENCY_PER_REQUEST: integer(1, 100).default(20),
  UPSTREAM_CONNECTIONS: integer(1, 1024).default(64),
  UPSTREAM_MAX_BODY_BYTES: integer(1024, 2 ** 31).default(128 * 1024 * 1024),
  TERMINAL_CACHE_TTL_MS: integer(0, 86_400_000).default(60_000),
  ACTIVE_CACHE_TTL_MS: integer(0, 60_000).default(0),
  CACHE_MAX_BYTES: integer(0, 2 ** 40).default(256 * 1024 * 1024),
  UPSTREAM_EXTENSIONS: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  WORKERS: integer(1, 64).default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

function isValidRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** Reads and validates configuration; throws ConfigError with a one-line, actionable message. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  // Empty variables are treated as unset, the way shells and .env files mean them.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid ${name}=${JSON.stringify(env[name] ?? '')}: ${issue?.message ?? 'invalid value'}.`);
  }
  const values = parsed.data;
  return {
    port: values.PORT,
    host: values.HOST,
    upstreamUrl: values.UPSTREAM_URL,
    upstreamTimeoutMs: values.UPSTREAM_TIMEOUT_MS,
    requestBudgetMs: values.REQUEST_BUDGET_MS,
    upstreamMaxAttempts: values.UPSTREAM_MAX_ATTEMPTS,
    upstreamRetryAfterCapMs: values.UPSTREAM_RETRY_AFTER_CAP_MS,
    breakerThreshold: values.UPSTREAM_BREAKER_THRESHOLD,
    breakerHalfOpenAfterMs: values.UPSTREAM_BREAKER_HALF_OPEN_MS,
    upstreamMaxConcurrent: values.UPSTREAM_MAX_CONCURRENT,
    upstreamQueue: values.UPSTREAM_QUEUE,
    maxRequestBodyBytes: values.MAX_REQUEST_BODY_BYTES,
    introspection: values.INTROSPECTION === 'true',
    corsOrigins: values.CORS_ORIGINS ? values.CORS_ORIGINS.split(',').map((origin) => origin.trim()) : [],
    executionIdPattern: new RegExp(values.EXECUTION_ID_PATTERN),
    upstreamConcurrencyPerRequest: values.UPSTREAM_CONCURRENCY_PER_REQUEST,
    upstreamConnections: values.UPSTREAM_CONNECTIONS,
    upstreamMaxBodyBytes: values.UPSTREAM_MAX_BODY_BYTES,
    terminalCacheTtlMs: values.TERMINAL_CACHE_TTL_MS,
    activeCacheTtlMs: values.ACTIVE_CACHE_TTL_MS,
    cacheMaxBytes: values.CACHE_MAX_BYTES,
    upstreamExtensions: values.UPSTREAM_EXTENSIONS === 'true',
    workers: values.WORKERS,
    logLevel: values.LOG_LEVEL,
  };
}
