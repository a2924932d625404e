/**
 * Bounded soak test: a few minutes of mixed GraphQL traffic against the gateway
 * while upstream misbehaves in known ways, checking that every answer is a
 * well-formed GraphQL response whose error codes match the injected fault, that
 * the gateway stays alive, and that its memory does not keep growing.
 *
 *   npm run soak                     (SOAK_SECONDS=180 by default)
 *   SOAK_SECONDS=20 npm run soak     (a quick check)
 *
 * Three processes: the fake upstream (bench/upstream-server.ts; faults per id are set
 * through its control port, POST /faults), the gateway (src/server.ts, one process,
 * LOG_LEVEL=warn), and this one, which drives load over loopback with autocannon,
 * inspects every response body and samples the gateway's RSS (/proc/<pid>/status
 * VmRSS) and open descriptors once a second. The gateway's log lines are counted by
 * message and its Node process warnings are redirected to a file and counted.
 *
 * Writes bench/results/soak.json and prints a Markdown report.
 *
 * Environment (all optional):
 *   SOAK_SECONDS          length of the measured run (180)
 *   SOAK_WARMUP_SECONDS   unmeasured warm-up before RSS "start" is taken (10)
 *   SOAK_CONNECTIONS      concurrent keep-alive connections (20)
 *   SOAK_MAX_RSS_GROWTH_MB  fail when end RSS exceeds start RSS by more (150)
 *   SOAK_LARGE_PAYLOADS   1: add finished executions with multi-MB payloads, polled and paged,
 *                         behind a small terminal cache (below)
 *   SOAK_CACHE_MAX_BYTES  the gateway's CACHE_MAX_BYTES with SOAK_LARGE_PAYLOADS=1 (16777216)
 *
 * Upstream faults, by execution id:
 *   ex_soak_1 … ex_soak_8, ex_soak_long  healthy (ex_soak_long has 1,000 events)
 *   ex_soak_flaky     503 with probability 0.3 (retried by the gateway), else normal
 *   ex_soak_flaky500  500 with probability 0.3 (not retried), else normal
 *   ex_soak_slow      answers normally after 300 ms
 *   ex_soak_hang      never answers (the gateway's per-attempt timeout must fire)
 *   ex_soak_missing   404
 * With SOAK_LARGE_PAYLOADS=1, also (served by the fake upstream as `body` faults, built here):
 *   ex_soak_large_1 … ex_soak_large_10  finished, requestPayload of invoice lines, 2 to 6 MB each
 *   ex_soak_huge      finished, 12 MB: counted above the whole (default 16 MiB) cache, so never cached
 * and the gateway's UPSTREAM_TIMEOUT_MS is 2000 instead of 1000 (see GATEWAY_ENV).
 * The report then adds what those requests cost upstream (calls against cache hits, from
 * extensions.upstream) and what the cache would hold were it unbounded.
 *
 * Expected codes, per id class (README "Error codes"):
 *   healthy, slow   no error
 *   flaky           none or UPSTREAM_UNAVAILABLE
 *   hang            UPSTREAM_TIMEOUT
 *   missing         NOT_FOUND
 *   invalid input   BAD_USER_INPUT (and the documented validation codes for hostile documents)
 * The circuit breaker is process-wide: after 10 consecutive upstream failures every
 * id fails fast with UPSTREAM_UNAVAILABLE for 5 s. Those answers (recognised by having
 * no upstreamStatus and the breaker's message) are allowed for every id that would
 * reach upstream, and are counted separately as "circuit open".
 *
 * Exits non-zero when a response is malformed, an unexpected code (or an unexpected
 * success, or wrong data) appears, the gateway died, or RSS grew too much.
 */
import { UPSTREAM_STATUSES } from '../src/domain/execution-status.js';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { ExecutionSpec, StoredExecution } from '../src/demo/demo-data.js';
import { DEMO_TOKEN, makeExecution } from '../src/demo/demo-data.js';
import type { Fault } from '../src/demo/fake-upstream.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { summarize } from './lib/measure.js';
import { startGatewayProbed, startUpstream } from './lib/processes.js';

// ---------------------------------------------------------------------------
// Settings

const envInt = (name: string, fallback: number, min: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`soak: ${name}=${JSON.stringify(raw)} must be a whole number ≥ ${min}\n`);
    process.exit(2);
  }
  return value;
};

const SOAK_SECONDS = envInt('SOAK_SECONDS', 180, 1);
const WARMUP_SECONDS = envInt('SOAK_WARMUP_SECONDS', 10, 0);
const CONNECTIONS = envInt('SOAK_CONNECTIONS', 20, 1);
const MAX_RSS_GROWTH_MB = envInt('SOAK_MAX_RSS_GROWTH_MB', 150, 1);
const LARGE_PAYLOADS = process.env.SOAK_LARGE_PAYLOADS === '1';
const CACHE_MAX_BYTES = envInt('SOAK_CACHE_MAX_BYTES', 16 * 1024 * 1024, 1);
const GATEWAY_ENV: Record<string, string> = {
  WORKERS: '1',
  UPSTREAM_TIMEOUT_MS: '1000',
  REQUEST_BUDGET_MS: '3000',
  LOG_LEVEL: 'warn',
  // Parsing a multi-MB body, or serializing its payload, holds the event loop for 50-200 ms; on
  // a loaded 2-core host a few in a row pushed ex_soak_slow's 300 ms answers past a 1 s deadline.
  ...(LARGE_PAYLOADS ? { UPSTREAM_TIMEOUT_MS: '2000', CACHE_MAX_BYTES: String(CACHE_MAX_BYTES), TERMINAL_CACHE_TTL_MS: '60000' } : {}),
};
const AUTHORIZATION = `Bearer ${DEMO_TOKEN}`;

// ---------------------------------------------------------------------------
// Upstream data and faults

type IdClass = 'healthy' | 'flaky' | 'slow' | 'hang' | 'missing' | 'invalid';

const HEALTHY = Array.from({ length: 8 }, (_, i) => `ex_soak_${i + 1}`);
const LONG = 'ex_soak_long';
const LONG_EVENTS = 1_000;
const FLAKY = ['ex_soak_flaky', 'ex_soak_flaky500'];
const SLOW = 'ex_soak_slow';
const HANG = 'ex_soak_hang';
const MISSING = 'ex_soak_missing';
const LARGE = LARGE_PAYLOADS ? Array.from({ length: 10 }, (_, i) => `ex_soak_large_${i + 1}`) : [];
const HUGE = 'ex_soak_huge';
const HEAP_NOTE = 'as the gateway counts it, src/upstream/entry-bytes.ts entryBytes';
/** Payload size of each large execution, MB; the huge one is bigger than the whole cache counts. */
const LARGE_MB: Record<string, number> = Object.fromEntries([...LARGE.map((id, i) => [id, 2 + (i % 5)] as const), [HUGE, 12] as const]);
const INVALID_IDS = ['../../admin', 'ex soak 1', 'x'.repeat(65), '..', 'ex_1?debug=1', 'ex_1#frag', '%2e%2e', 'é_unicode', 'ex/1', ''];

const STATUSES = UPSTREAM_STATUSES;
const EXECUTIONS: ExecutionSpec[] = [
  ...HEALTHY.map((id, i) => ({ id, status: STATUSES[i]!, minute: i, eventCount: 5 + i * 5 })),
  { id: LONG, status: 'workflow_running', minute: 30, eventCount: LONG_EVENTS },
  ...FLAKY.map((id) => ({ id, status: 'workflow_running', minute: 40, eventCount: 12 })),
  // Not terminal, so the gateway's cache of finished executions never hides the fault.
  { id: SLOW, status: 'workflow_running', minute: 50, eventCount: 12 },
  { id: HANG, status: 'workflow_running', minute: 60, eventCount: 12 },
];
const FAULTS: Record<string, Fault> = {
  ex_soak_flaky: { kind: 'flaky', rate: 0.3, status: 503 },
  ex_soak_flaky500: { kind: 'flaky', rate: 0.3, status: 500 },
  [SLOW]: { kind: 'slow', ms: 300 },
  [HANG]: { kind: 'hang' },
};

const classOf = (id: string): IdClass =>
  HEALTHY.includes(id) || id === LONG || (LARGE_PAYLOADS && (LARGE.includes(id) || id === HUGE))
    ? 'healthy'
    : FLAKY.includes(id)
      ? 'flaky'
      : id === SLOW
        ? 'slow'
        : id === HANG
          ? 'hang'
          : id === MISSING
            ? 'missing'
            : 'invalid';

// ---------------------------------------------------------------------------
// GraphQL operations: the client's own documents where they fit

const operation = (file: string) => readFileSync(new URL(`../schema/operations/${file}`, import.meta.url), 'utf8');
const STATUS_DOC = operation('execution-status.graphql');
const PAGE_DOC = operation('execution-page.graphql');
const EVENTS_DOC = operation('execution-events.graphql');
const EXECUTIONS_DOC = operation('executions.graphql');
const ALIAS_BOMB_DOC = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: execution(id: "ex_soak_1") { id }`).join(' ')} }`;
const DEPTH_BOMB_DOC = `{ execution(id: "ex_soak_1") { events { nodes { execution { events { nodes { execution { events { nodes { execution { id } } } } } } } } } } }`;
const SYNTAX_ERROR_DOC = '{ execution(id: "ex_soak_1") { id status ';

// ---------------------------------------------------------------------------
// Request kinds: what to send and what the answer must look like

interface Shot {
  body: string;
  /** Send the Authorization header (default true). */
  auth?: boolean;
  /** For `execution(id)`: the id; its error sits at path ["execution"]. */
  single?: string;
  /** For `executions(ids)`: the ids; the error of ids[i] sits at path ["executions", i]. */
  list?: string[];
  /** Codes allowed for errors that no id explains (argument checks, documents, auth). */
  requestCodes?: string[];
  /** HTTP statuses allowed (default [200]). */
  httpStatuses?: number[];
  /** Extra check of `data` when the id loaded; returns a problem or undefined. */
  checkData?: (data: Record<string, unknown>) => string | undefined;
}

interface Kind {
  name: string;
  weight: number;
  /** What the kind exercises, for the report. */
  about: string;
  /** Codes the kind is expected to produce, for the report. */
  expect: string;
  make: () => Shot;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const gql = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  JSON.stringify({ query, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) });

/** Cursors taken from real pages before the run starts. */
const cursors = { longPage1End: '', otherExecution: '' };

const statusOf = (id: string): Shot => ({ body: gql(STATUS_DOC, { id }, 'ExecutionStatus'), single: id });
const eventsOf = (data: Record<string, unknown>) =>
  (data.execution as { events?: { totalCount: number; edges: unknown[] } } | null)?.events;

const KINDS: Kind[] = [
  {
    name: 'status poll',
    weight: 26,
    about: 'ExecutionStatus on a healthy id',
    expect: 'none',
    make: () => statusOf(pick(HEALTHY)),
  },
  {
    name: 'execution page',
    weight: 12,
    about: 'ExecutionPage (all fields + first 20 events with edges) on a healthy id',
    expect: 'none',
    make: () => {
      const id = pick(HEALTHY);
      const count = 5 + HEALTHY.indexOf(id) * 5;
      return {
        body: gql(PAGE_DOC, { id, first: 20 }, 'ExecutionPage'),
        single: id,
        checkData: (data) => {
          const events = eventsOf(data);
          if (events?.totalCount !== count || events.edges.length !== Math.min(20, count)) return `events ${events?.totalCount}/${events?.edges.length}, expected ${count}`;
          return undefined;
        },
      };
    },
  },
  {
    name: 'events next page',
    weight: 5,
    about: `ExecutionEvents first 50 after a page-1 cursor on ${LONG} (${LONG_EVENTS} events)`,
    expect: 'none',
    make: () => ({
      body: gql(EVENTS_DOC, { id: LONG, first: 50, after: cursors.longPage1End }, 'ExecutionEvents'),
      single: LONG,
      checkData: (data) => {
        const events = eventsOf(data);
        return events?.totalCount === LONG_EVENTS && events.edges.length === 50 ? undefined : `events ${events?.totalCount}/${events?.edges.length}`;
      },
    }),
  },
  {
    name: 'events last+filter DESC',
    weight: 4,
    about: `ExecutionEvents last 20, levels warn/error, order DESC on ${LONG}`,
    expect: 'none',
    make: () => ({
      body: gql(EVENTS_DOC, { id: LONG, last: 20, filter: { levels: ['warn', 'error'] }, order: 'DESC' }, 'ExecutionEvents'),
      single: LONG,
      checkData: (data) => (eventsOf(data)?.edges.length === 20 ? undefined : 'expected 20 edges'),
    }),
  },
  {
    name: 'status flaky',
    weight: 8,
    about: 'ExecutionStatus on ex_soak_flaky (503 @30%, retried) or ex_soak_flaky500 (500 @30%)',
    expect: 'none or UPSTREAM_UNAVAILABLE',
    make: () => statusOf(pick(FLAKY)),
  },
  {
    name: 'page slow',
    weight: 6,
    about: 'ExecutionPage on ex_soak_slow (300 ms)',
    expect: 'none',
    make: () => ({ body: gql(PAGE_DOC, { id: SLOW }, 'ExecutionPage'), single: SLOW }),
  },
  {
    name: 'status hang',
    weight: 3,
    about: 'ExecutionStatus on ex_soak_hang (never answers)',
    expect: 'UPSTREAM_TIMEOUT',
    make: () => statusOf(HANG),
  },
  {
    name: 'status 404',
    weight: 5,
    about: 'ExecutionStatus on ex_soak_missing',
    expect: 'NOT_FOUND',
    make: () => statusOf(MISSING),
  },
  {
    name: 'fan-out mixed',
    weight: 10,
    about: 'executions(ids): 3-6 healthy (one repeated) + flaky + slow + missing, shuffled',
    expect: 'per id: healthy/slow none, flaky none|UPSTREAM_UNAVAILABLE, missing NOT_FOUND',
    make: () => {
      const healthy = Array.from({ length: 3 + Math.floor(Math.random() * 4) }, () => pick(HEALTHY));
      const ids = shuffle([...healthy, healthy[0]!, pick(FLAKY), SLOW, MISSING]);
      return { body: gql(EXECUTIONS_DOC, { ids }, 'Executions'), list: ids };
    },
  },
  {
    name: 'fan-out with hang',
    weight: 3,
    about: 'executions(ids): 3 healthy + hang + missing + flaky, shuffled',
    expect: 'per id; hang UPSTREAM_TIMEOUT',
    make: () => {
      const ids = shuffle([pick(HEALTHY), pick(HEALTHY), LONG, HANG, MISSING, pick(FLAKY)]);
      return { body: gql(EXECUTIONS_DOC, { ids }, 'Executions'), list: ids };
    },
  },
  {
    name: 'bad id',
    weight: 2,
    about: `execution(id) with a hostile id (${INVALID_IDS.length} variants: traversal, spaces, 65 chars, query, unicode, empty)`,
    expect: 'BAD_USER_INPUT',
    make: () => statusOf(pick(INVALID_IDS)),
  },
  {
    name: 'fan-out bad id',
    weight: 1,
    about: 'executions(ids): healthy + hostile id + missing',
    expect: 'per id; hostile BAD_USER_INPUT',
    make: () => {
      const ids = shuffle([pick(HEALTHY), pick(INVALID_IDS), MISSING]);
      return { body: gql(EXECUTIONS_DOC, { ids }, 'Executions'), list: ids };
    },
  },
  {
    name: 'page size 101',
    weight: 2,
    about: 'ExecutionEvents first: 101 (or last: 101) on a healthy id',
    expect: 'BAD_USER_INPUT',
    make: () => {
      const id = pick(HEALTHY);
      return {
        body: gql(EVENTS_DOC, { id, ...(Math.random() < 0.5 ? { first: 101 } : { last: 101 }) }, 'ExecutionEvents'),
        single: id,
        requestCodes: ['BAD_USER_INPUT'],
      };
    },
  },
  {
    name: 'bad cursor',
    weight: 1,
    about: `ExecutionEvents after: garbage, or a cursor of another execution, on ${LONG}`,
    expect: 'BAD_USER_INPUT',
    make: () => ({
      body: gql(EVENTS_DOC, { id: LONG, first: 5, after: Math.random() < 0.5 ? 'bm90LWEtY3Vyc29y.x' : cursors.otherExecution }, 'ExecutionEvents'),
      single: LONG,
      requestCodes: ['BAD_USER_INPUT'],
    }),
  },
  {
    name: '101 ids',
    weight: 1,
    about: 'executions(ids) with 101 ids',
    expect: 'BAD_USER_INPUT',
    make: () => ({
      body: gql(EXECUTIONS_DOC, { ids: Array.from({ length: 101 }, (_, i) => `ex_many_${i}`) }, 'Executions'),
      requestCodes: ['BAD_USER_INPUT'],
    }),
  },
  {
    name: 'no Authorization',
    weight: 1,
    about: 'ExecutionStatus without an Authorization header',
    expect: 'UNAUTHENTICATED',
    make: () => ({ body: gql(STATUS_DOC, { id: pick(HEALTHY) }, 'ExecutionStatus'), auth: false, requestCodes: ['UNAUTHENTICATED'] }),
  },
  {
    name: 'hostile document',
    weight: 1,
    about: '31 aliases, depth 11, or a syntax error',
    expect: 'GRAPHQL_VALIDATION_FAILED / GRAPHQL_PARSE_FAILED (HTTP 400)',
    make: () => ({
      body: gql(pick([ALIAS_BOMB_DOC, DEPTH_BOMB_DOC, SYNTAX_ERROR_DOC])),
      requestCodes: ['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED'],
      httpStatuses: [400],
    }),
  },
];

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

if (LARGE_PAYLOADS) {
  KINDS.push(
    {
      name: 'large status poll',
      weight: 6,
      about: `ExecutionStatus on a finished execution with a 2-6 MB payload (${LARGE.length} ids)`,
      expect: 'none',
      make: () => statusOf(pick(LARGE)),
    },
    {
      name: 'large page',
      weight: 1,
      about: 'ExecutionPage (payloads included) on a finished execution with a 2-6 MB payload',
      expect: 'none',
      make: () => {
        const id = pick(LARGE);
        return { body: gql(PAGE_DOC, { id, first: 20 }, 'ExecutionPage'), single: id };
      },
    },
    {
      name: 'huge status poll',
      weight: 1,
      about: `ExecutionStatus on ${HUGE} (12 MB payload: counted above a cache of up to 24 MiB)`,
      expect: 'none',
      make: () => statusOf(HUGE),
    },
  );
}

/** A finished execution whose requestPayload is invoice lines (objects three levels deep) of about `mb` MB. */
function largeExecution(id: string, mb: number): StoredExecution {
  const stored = makeExecution({ id, status: 'workflow_succeeded', minute: 70, eventCount: 20 });
  const lines: unknown[] = [];
  for (let size = 0, l = 0; size < mb * 1_000_000; l++) {
    const line = {
      sku: `sku_${l}`,
      description: `Seat licence, tier ${1 + (l % 3)}, line ${l}`,
      qty: 1 + (l % 5),
      unitPrice: { currency: 'EUR', value: 990 + ((l * 37) % 9000) },
      tax: { rate: 0.2, jurisdiction: { country: 'DE', region: null }, amount: { currency: 'EUR', value: (l * 41) % 2000 } },
      metadata: { catalog: { version: 7, product: { family: 'licences', variant: `v${l % 9}` } } },
    };
    size += JSON.stringify(line).length + 1;
    lines.push(line);
  }
  stored.execution.requestPayload = { invoice: { id: `inv_${id}`, lines } };
  return stored;
}

const totalWeight = KINDS.reduce((sum, kind) => sum + kind.weight, 0);
function pickKind(): Kind {
  let roll = Math.random() * totalWeight;
  for (const kind of KINDS) {
    roll -= kind.weight;
    if (roll < 0) return kind;
  }
  return KINDS[KINDS.length - 1]!;
}

// ---------------------------------------------------------------------------
// Judging one response

interface GraphQLErrorShape {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: unknown; upstreamStatus?: unknown };
}

/** The code as reported: UPSTREAM_UNAVAILABLE is split by cause. */
function codeLabel(error: GraphQLErrorShape): string {
  const code = typeof error.extensions?.code === 'string' ? error.extensions.code : '(no code)';
  if (code !== 'UPSTREAM_UNAVAILABLE') return code;
  if (typeof error.extensions?.upstreamStatus === 'number') return `UPSTREAM_UNAVAILABLE (upstream ${error.extensions.upstreamStatus})`;
  if (/stops calling it/.test(error.message)) return 'UPSTREAM_UNAVAILABLE (circuit open)';
  if (/limit of concurrent calls/.test(error.message)) return 'UPSTREAM_UNAVAILABLE (bulkhead full)';
  return 'UPSTREAM_UNAVAILABLE (unreachable)';
}

const CIRCUIT_OPEN = 'UPSTREAM_UNAVAILABLE (circuit open)';

/** Whether `label` is an allowed answer for an id of class `cls`. */
function allowedFor(cls: IdClass, label: string): boolean {
  if (cls === 'invalid') return label === 'BAD_USER_INPUT';
  // Every id that reaches upstream shares the process-wide breaker.
  if (label === CIRCUIT_OPEN) return true;
  switch (cls) {
    case 'healthy':
    case 'slow':
      return false;
    case 'flaky':
      return label.startsWith('UPSTREAM_UNAVAILABLE');
    case 'hang':
      return label === 'UPSTREAM_TIMEOUT';
    case 'missing':
      return label === 'NOT_FOUND';
  }
}

/** Must an id of this class fail? (A success would be wrong.) */
const mustFail = (cls: IdClass) => cls === 'hang' || cls === 'missing' || cls === 'invalid';

interface KindStats {
  requests: number;
  durations: number[];
  http: Record<string, number>;
  codes: Record<string, number>;
  malformed: number;
  unexpected: number;
  dataProblems: number;
  /** Errors on ids of each class while the circuit was open. */
  circuitOpenByClass: Record<string, number>;
  /** extensions.upstream summed over the kind's answers. */
  upstream: { calls: number; cacheHits: number; sharedCalls: number };
}

interface Problem {
  kind: string;
  what: string;
  status: number;
  request: string;
  response: string;
}

class Tally {
  readonly kinds = new Map<string, KindStats>();
  readonly problems: Problem[] = [];
  readonly problemCounts: Record<string, number> = {};
  responses = 0;
  malformed = 0;
  unexpected = 0;
  dataProblems = 0;

  kind(name: string): KindStats {
    let stats = this.kinds.get(name);
    if (!stats) {
      stats = { requests: 0, durations: [], http: {}, codes: {}, malformed: 0, unexpected: 0, dataProblems: 0, circuitOpenByClass: {}, upstream: { calls: 0, cacheHits: 0, sharedCalls: 0 } };
      this.kinds.set(name, stats);
    }
    return stats;
  }

  #problem(kind: string, what: string, status: number, shot: Shot, body: string) {
    const key = `${kind}: ${what}`;
    this.problemCounts[key] = (this.problemCounts[key] ?? 0) + 1;
    // Keep a few examples of each distinct problem, not thousands.
    if (this.problemCounts[key]! <= 3 && this.problems.length < 60) {
      this.problems.push({ kind, what, status, request: shot.body.slice(0, 300), response: body.slice(0, 600) });
    }
  }

  record(kind: Kind, shot: Shot, status: number, body: string, contentType: string, durationMs: number): void {
    this.responses++;
    const stats = this.kind(kind.name);
    stats.requests++;
    stats.durations.push(durationMs);
    stats.http[status] = (stats.http[status] ?? 0) + 1;

    // 1. Well-formed: JSON object with `data` and/or a non-empty `errors` array of {message}.
    const json = parseGraphQLResponse(body, contentType);
    if (typeof json === 'string') {
      this.malformed++;
      stats.malformed++;
      this.#problem(kind.name, `malformed: ${json}`, status, shot, body);
      return;
    }
    const allowedStatuses = shot.httpStatuses ?? [200];
    if (!allowedStatuses.includes(status)) {
      this.unexpected++;
      stats.unexpected++;
      this.#problem(kind.name, `HTTP ${status}`, status, shot, body);
    }

    // 2. Every error's code matches what its id (or the request) was set up to produce.
    const errors = (json.errors ?? []) as GraphQLErrorShape[];
    const cost = (json as { extensions?: { upstream?: Partial<KindStats['upstream']> } }).extensions?.upstream;
    if (cost) {
      stats.upstream.calls += cost.calls ?? 0;
      stats.upstream.cacheHits += cost.cacheHits ?? 0;
      stats.upstream.sharedCalls += cost.sharedCalls ?? 0;
    }
    const failedIndexes = new Set<number>();
    let singleFailed = false;
    for (const error of errors) {
      const label = codeLabel(error);
      stats.codes[label] = (stats.codes[label] ?? 0) + 1;
      const path = error.path ?? [];
      let cls: IdClass | undefined;
      if (shot.single !== undefined && path.length === 1 && path[0] === 'execution') {
        cls = classOf(shot.single);
        singleFailed = true;
      } else if (shot.list && path.length === 2 && path[0] === 'executions' && typeof path[1] === 'number') {
        cls = classOf(shot.list[path[1]] ?? '');
        failedIndexes.add(path[1]);
      }
      if (label === CIRCUIT_OPEN && cls) stats.circuitOpenByClass[cls] = (stats.circuitOpenByClass[cls] ?? 0) + 1;
      // A request-level code may stand on the execution itself: a page its arguments alone refuse is refused up front, on
      // ["execution"], with no upstream call.
      const ok = (shot.requestCodes ?? []).includes(label) || (cls !== undefined && allowedFor(cls, label));
      if (!ok) {
        this.unexpected++;
        stats.unexpected++;
        this.#problem(kind.name, `unexpected ${label} at ${JSON.stringify(path)}${cls ? ` (${cls} id)` : ''}`, status, shot, body);
      }
    }
    // A request-level code the kind must produce, but did not (e.g. page size 101 served).
    if (shot.requestCodes && !errors.some((error) => (shot.requestCodes ?? []).includes(codeLabel(error)))) {
      const circuitExplains = errors.some((error) => codeLabel(error) === CIRCUIT_OPEN);
      if (!circuitExplains) {
        this.unexpected++;
        stats.unexpected++;
        this.#problem(kind.name, `expected ${shot.requestCodes.join('|')}, got ${errors.map(codeLabel).join(',') || 'no error'}`, status, shot, body);
      }
    }

    // 3. Data is right where it is not an error, and missing where it must be.
    const data = (json.data ?? null) as Record<string, unknown> | null;
    const dataProblem = (what: string) => {
      this.dataProblems++;
      stats.dataProblems++;
      this.#problem(kind.name, what, status, shot, body);
    };
    // (Kinds with requestCodes were judged above: their error may null the execution.)
    if (shot.single !== undefined && data && !shot.requestCodes) {
      const cls = classOf(shot.single);
      const execution = data.execution as { id?: string } | null | undefined;
      if (singleFailed) {
        if (execution !== null) dataProblem('failed execution is not null');
      } else if (mustFail(cls)) {
        dataProblem(`${cls} id answered without an error`);
      } else if (!execution || execution.id !== shot.single) {
        dataProblem(`execution ${JSON.stringify(execution?.id)} for id ${shot.single}`);
      } else if (shot.checkData) {
        const problem = shot.checkData(data);
        if (problem) dataProblem(problem);
      }
    }
    if (shot.list && data && !shot.requestCodes) {
      const items = data.executions as ({ id?: string } | null)[] | undefined;
      if (!Array.isArray(items) || items.length !== shot.list.length) {
        dataProblem(`executions has ${Array.isArray(items) ? items.length : 'no'} items for ${shot.list.length} ids`);
      } else {
        shot.list.forEach((id, i) => {
          const item = items[i];
          if (failedIndexes.has(i)) {
            if (item !== null) dataProblem(`failed executions[${i}] is not null`);
          } else if (mustFail(classOf(id))) {
            dataProblem(`executions[${i}] (${classOf(id)} id) answered without an error`);
          } else if (!item || item.id !== id) {
            dataProblem(`executions[${i}] is ${JSON.stringify(item?.id ?? null)} for id ${id}`);
          }
        });
      }
    }
  }
}

/** The parsed response, or a string saying why it is not a well-formed GraphQL response. */
function parseGraphQLResponse(body: string, contentType: string): { data?: unknown; errors?: unknown[] } | string {
  if (!/json/.test(contentType)) return `content-type ${JSON.stringify(contentType)}`;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not a JSON object';
  const keys = Object.keys(json);
  if (!keys.includes('data') && !keys.includes('errors')) return 'neither data nor errors';
  const extra = keys.filter((key) => !['data', 'errors', 'extensions'].includes(key));
  if (extra.length) return `unexpected keys ${extra.join(',')}`;
  const { data, errors } = json as { data?: unknown; errors?: unknown };
  if ('data' in json && data !== null && (typeof data !== 'object' || Array.isArray(data))) return 'data is not an object or null';
  if ('errors' in json) {
    if (!Array.isArray(errors) || errors.length === 0) return 'errors is not a non-empty array';
    if (!errors.every((error) => typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string')) {
      return 'an error has no message';
    }
  }
  return json as { data?: unknown; errors?: unknown[] };
}

// ---------------------------------------------------------------------------
// autocannon (no type definitions are published; this is the part we use)

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest, context: SoakContext) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: SoakContext, headers: Record<string, string | string[]>) => void;
}
interface AutocannonResult {
  duration: number;
  requests: { total: number; average: number };
  latency: { p50: number; p90: number; p99: number; p99_9: number; max: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance {
  stop(): void;
  on(event: 'reqError', listener: (error: Error) => void): void;
}
type Autocannon = (
  options: { url: string; connections: number; pipelining: number; duration: number; timeout: number; requests: AutocannonRequest[] },
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface SoakContext {
  kind?: Kind;
  shot?: Shot;
  startedAt?: number;
}

function drive(url: string, seconds: number, tally: Tally, onStart: (instance: AutocannonInstance) => void): Promise<AutocannonResult & { reqErrors: Record<string, number> }> {
  const reqErrors: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
        // Well above REQUEST_BUDGET_MS: a request still unanswered by then is a gateway fault.
        timeout: 10,
        requests: [
          {
            method: 'POST',
            setupRequest: (request, context) => {
              const kind = pickKind();
              const shot = kind.make();
              context.kind = kind;
              context.shot = shot;
              context.startedAt = performance.now();
              return {
                ...request,
                method: 'POST',
                path: '/graphql',
                headers: {
                  'content-type': 'application/json',
                  accept: 'application/graphql-response+json, application/json',
                  ...(shot.auth === false ? {} : { authorization: AUTHORIZATION }),
                },
                body: shot.body,
              };
            },
            onResponse: (status, body, context, headers) => {
              if (!context.kind || !context.shot) return;
              const contentType = String(headers['content-type'] ?? headers['Content-Type'] ?? '');
              tally.record(context.kind, context.shot, status, body, contentType, performance.now() - (context.startedAt ?? 0));
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve({ ...result, reqErrors })),
    );
    instance.on('reqError', (error) => {
      const key = (error as NodeJS.ErrnoException).code ?? error.message;
      reqErrors[key] = (reqErrors[key] ?? 0) + 1;
    });
    onStart(instance);
  });
}

// ---------------------------------------------------------------------------
// Gateway process metrics from /proc

const CLOCK_TICKS = 100;

function procStatusKb(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
const rssMb = (pid: number) => {
  const kb = procStatusKb(pid, 'VmRSS');
  return kb === undefined ? undefined : kb / 1024;
};
const openFds = (pid: number) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
};
/** CPU seconds (user + system) the process has used. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

interface Sample {
  t: number;
  rssMb: number;
  fds: number | undefined;
}

// ---------------------------------------------------------------------------
// Helpers

async function post(url: string, body: string, auth = true): Promise<{ status: number; json: { data?: Record<string, unknown>; errors?: GraphQLErrorShape[] } }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(auth ? { authorization: AUTHORIZATION } : {}) },
    body,
  });
  return { status: response.status, json: (await response.json()) as { data?: Record<string, unknown>; errors?: GraphQLErrorShape[] } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Number(value.toFixed(digits));
const percentile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);

// ---------------------------------------------------------------------------
// Run

process.once('SIGINT', () => process.exit(130));

const stdout = (line = '') => process.stdout.write(`${line}\n`);
stdout(`soak: ${SOAK_SECONDS} s measured after ${WARMUP_SECONDS} s warm-up, ${CONNECTIONS} connections, gateway env ${JSON.stringify(GATEWAY_ENV)}`);

const upstream = await startUpstream(EXECUTIONS);
const control = async <T>(path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`${upstream.control}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`upstream control ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};
await control('/faults', FAULTS);
/** Body bytes of each large execution, as upstream sends it, and its events (the cache counts both). */
const largeBodyBytes: Record<string, number> = {};
const largeEventCounts: Record<string, number> = {};
if (LARGE_PAYLOADS) {
  // The bench upstream takes ExecutionSpecs only, so large executions are served as `body` faults:
  // the same 200 envelope it would send, built here.
  for (const [id, mb] of Object.entries(LARGE_MB)) {
    const stored = largeExecution(id, mb);
    const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
    const body = `{"code":200,"data":${data},"message":"success","requestId":"up-large"}`;
    largeBodyBytes[id] = Buffer.byteLength(body);
    largeEventCounts[id] = stored.events.length;
    await control('/faults', { [id]: { kind: 'body', body } satisfies Fault });
  }
}
interface UpstreamStats {
  inFlight: number;
  maxInFlight: number;
  calls: Record<string, number>;
}
const upstreamStats = async (): Promise<UpstreamStats> => {
  const stats = await control<{ inFlight: number; maxInFlight: number }>('/stats');
  return { inFlight: stats.inFlight, maxInFlight: stats.maxInFlight, calls: await control<Record<string, number>>('/calls') };
};

// The gateway's log lines (pino JSON on stdout, LOG_LEVEL=warn), counted by message.
const gatewayLog: Record<string, number> = {};
const gatewayLogExamples: string[] = [];
// Node's process warnings (stderr) go to a file instead, so they can be counted and quoted.
const warningsFile = `${os.tmpdir()}/soak-gateway-warnings-${process.pid}.log`;
rmSync(warningsFile, { force: true });
const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --redirect-warnings=${warningsFile} --trace-warnings`.trim();
const loadAverageAtStart = os.loadavg();
const gateway = await startGatewayProbed(upstream.url, { ...GATEWAY_ENV, NODE_OPTIONS: nodeOptions }, {
  onLine: (line) => {
    let message = line.slice(0, 120);
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      message = `${entry.level ?? '?'}: ${entry.msg ?? ''}`;
    } catch {
      // not JSON: count the raw line
    }
    gatewayLog[message] = (gatewayLog[message] ?? 0) + 1;
    if (gatewayLogExamples.length < 10 && gatewayLog[message] === 1) gatewayLogExamples.push(line.slice(0, 500));
  },
});
const pid = gateway.child.pid!;
let gatewayExit: { code: number | null; signal: NodeJS.Signals | null; atSecond: number } | undefined;
let running: AutocannonInstance | undefined;
const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
let stopping = false;
gateway.child.once('exit', (code, signal) => {
  if (stopping) return;
  gatewayExit = { code, signal, atSecond: round(elapsed()) };
  process.stderr.write(`soak: the gateway exited (code ${code}, signal ${signal}) at ${gatewayExit.atSecond} s\n`);
  running?.stop();
});

// Cursors the events kinds need, taken from real pages (also a first smoke test).
{
  const page1 = await post(gateway.url, gql(EVENTS_DOC, { id: LONG, first: 50 }, 'ExecutionEvents'));
  const other = await post(gateway.url, gql(EVENTS_DOC, { id: HEALTHY[0], first: 1 }, 'ExecutionEvents'));
  type Page = { execution: { events: { pageInfo: { endCursor: string } } } };
  cursors.longPage1End = (page1.json.data as Page | undefined)?.execution.events.pageInfo.endCursor ?? '';
  cursors.otherExecution = (other.json.data as Page | undefined)?.execution.events.pageInfo.endCursor ?? '';
  if (!cursors.longPage1End || !cursors.otherExecution) {
    process.stderr.write(`soak: the gateway did not serve a first page: ${JSON.stringify(page1.json).slice(0, 500)}\n`);
    stopping = true;
    await gateway.stop();
    await upstream.stop();
    process.exit(1);
  }
}

// RSS and open descriptors of the gateway, once a second for the whole run.
const samples: Sample[] = [];
const sample = () => {
  const rss = rssMb(pid);
  if (rss !== undefined) samples.push({ t: round(elapsed()), rssMb: round(rss), fds: openFds(pid) });
};
sample();
const sampler = setInterval(sample, 1000);

// Warm-up: same mix, checked the same way, not in the figures.
const warmupTally = new Tally();
if (WARMUP_SECONDS > 0) {
  stdout(`soak: warming up for ${WARMUP_SECONDS} s …`);
  await drive(gateway.url, WARMUP_SECONDS, warmupTally, (instance) => (running = instance));
}
await sleep(1500); // let warm-up's in-flight work (hangs, retries) settle before the baseline
const start = { t: round(elapsed()), rssMb: rssMb(pid) ?? Number.NaN, fds: openFds(pid), cpu: cpuSeconds(pid) ?? 0 };
const upstreamAtStart = await upstreamStats();

const tally = new Tally();
stdout(`soak: measuring for ${SOAK_SECONDS} s (RSS at start ${round(start.rssMb)} MB) …`);
const progress = setInterval(() => {
  const last = samples[samples.length - 1];
  stdout(`soak: ${Math.round(elapsed() - start.t)} s, ${tally.responses} responses, RSS ${last?.rssMb ?? '?'} MB, fds ${last?.fds ?? '?'}, problems ${tally.malformed + tally.unexpected + tally.dataProblems}`);
}, 30_000);
const cpuAtStart = start.cpu;
const wallAtStart = performance.now();
const result = await drive(gateway.url, SOAK_SECONDS, tally, (instance) => (running = instance));
const wallSeconds = (performance.now() - wallAtStart) / 1000;
const cpuUsed = (cpuSeconds(pid) ?? cpuAtStart) - cpuAtStart;
clearInterval(progress);
const endSample = { t: round(elapsed()), rssMb: rssMb(pid) ?? Number.NaN, fds: openFds(pid) };
const vmHwmMb = (procStatusKb(pid, 'VmHWM') ?? Number.NaN) / 1024;
const measured = samples.filter((s) => s.t >= start.t);
const peak = measured.reduce((max, s) => (s.rssMb > max.rssMb ? s : max), { t: start.t, rssMb: start.rssMb, fds: start.fds });
const peakFds = Math.max(...measured.map((s) => s.fds ?? 0));

// After the load: idle for longer than the upstream timeout, then check that the
// gateway let go of every upstream request and still answers.
await sleep(Number(GATEWAY_ENV.UPSTREAM_TIMEOUT_MS) + 2500);
const idle = { rssMb: rssMb(pid) ?? Number.NaN, fds: openFds(pid) };
const upstreamAtEnd = await upstreamStats();
let recovered = false;
let recoveryNote = '';
for (let attempt = 0; attempt < 8 && !gatewayExit; attempt++) {
  try {
    const probe = await post(gateway.url, gql(STATUS_DOC, { id: HEALTHY[0] }, 'ExecutionStatus'));
    const execution = probe.json.data?.execution as { id?: string } | undefined;
    if (probe.status === 200 && !probe.json.errors && execution?.id === HEALTHY[0]) {
      recovered = true;
      recoveryNote = attempt === 0 ? 'first probe answered' : `answered after ${attempt} retries`;
      break;
    }
    recoveryNote = JSON.stringify(probe.json).slice(0, 300);
  } catch (error) {
    recoveryNote = (error as Error).message;
  }
  await sleep(1000);
}
const alive = !gatewayExit && gateway.child.exitCode === null && gateway.child.signalCode === null;
clearInterval(sampler);
stopping = true;
await gateway.stop();
await upstream.stop();
const loadAverageAtEnd = os.loadavg();

// Node warnings the gateway printed, by kind, with the first stack of each.
const gatewayWarnings: Record<string, number> = {};
const gatewayWarningExamples: string[] = [];
if (existsSync(warningsFile)) {
  const text = readFileSync(warningsFile, 'utf8');
  // Each warning starts with "(node:<pid>) <Name>: <message>" followed by its stack lines.
  for (const block of text.split(/^(?=\(node:\d+\) )/m)) {
    const head = /^\(node:\d+\) ([^\n]*)/.exec(block)?.[1];
    if (!head) continue;
    const key = head.replace(/\d+/g, 'N').slice(0, 160);
    gatewayWarnings[key] = (gatewayWarnings[key] ?? 0) + 1;
    if (gatewayWarnings[key] === 1 && gatewayWarningExamples.length < 5) gatewayWarningExamples.push(block.slice(0, 2500));
  }
  rmSync(warningsFile, { force: true });
}

// ---------------------------------------------------------------------------
// Report

const rssGrowth = endSample.rssMb - start.rssMb;
const failures: string[] = [];
const allTallies = [warmupTally, tally];
const malformed = allTallies.reduce((sum, t) => sum + t.malformed, 0);
const unexpected = allTallies.reduce((sum, t) => sum + t.unexpected, 0);
const dataProblems = allTallies.reduce((sum, t) => sum + t.dataProblems, 0);
if (malformed > 0) failures.push(`${malformed} malformed responses`);
if (unexpected > 0) failures.push(`${unexpected} unexpected codes or HTTP statuses`);
if (dataProblems > 0) failures.push(`${dataProblems} responses with wrong or missing data`);
if (result.timeouts > 0) failures.push(`${result.timeouts} requests unanswered after 10 s`);
if (!alive) failures.push(`the gateway died${gatewayExit ? ` at ${gatewayExit.atSecond} s (code ${gatewayExit.code}, signal ${gatewayExit.signal})` : ''}`);
if (!(rssGrowth <= MAX_RSS_GROWTH_MB)) failures.push(`RSS grew ${round(rssGrowth)} MB (limit ${MAX_RSS_GROWTH_MB} MB)`);
if (alive && !recovered) failures.push(`the gateway did not answer a healthy query after the run: ${recoveryNote}`);
const warnings: string[] = [];
if (upstreamAtEnd.inFlight > 0) warnings.push(`${upstreamAtEnd.inFlight} upstream requests still open ${round((Number(GATEWAY_ENV.UPSTREAM_TIMEOUT_MS) + 2500) / 1000)} s after the load stopped`);
const reqErrorTotal = Object.values(result.reqErrors).reduce((sum, n) => sum + n, 0);
if (reqErrorTotal - result.timeouts > 0) warnings.push(`${reqErrorTotal - result.timeouts} connection errors seen by the driver: ${JSON.stringify(result.reqErrors)}`);
const warningTotal = Object.values(gatewayWarnings).reduce((sum, n) => sum + n, 0);
if (warningTotal > 0) warnings.push(`the gateway emitted ${warningTotal} Node process warnings: ${Object.keys(gatewayWarnings).join(' | ')}`);

/**
 * With SOAK_LARGE_PAYLOADS=1: what the large executions cost upstream (extensions.upstream
 * of their answers), and what the cache would have held without its bound.
 */
const largeSummary = LARGE_PAYLOADS
  ? (() => {
      const mb = (bytes: number) => round(bytes / 1024 / 1024);
      const cached = ['large status poll', 'large page'].map((name) => tally.kind(name));
      const huge = tally.kind('huge status poll');
      const requests = cached.reduce((sum, stats) => sum + stats.requests, 0);
      const calls = cached.reduce((sum, stats) => sum + stats.upstream.calls, 0);
      const cacheHits = cached.reduce((sum, stats) => sum + stats.upstream.cacheHits, 0);
      const counted = Object.fromEntries(Object.entries(largeBodyBytes).map(([id, bytes]) => [id, entryBytes({ bodyBytes: bytes, events: { length: largeEventCounts[id] ?? 0 } })]));
      const unboundedBytes = LARGE.reduce((sum, id) => sum + (counted[id] ?? 0), 0);
      const summary = {
        cacheMaxBytes: CACHE_MAX_BYTES,
        bodyMb: Object.fromEntries(Object.entries(largeBodyBytes).map(([id, bytes]) => [id, mb(bytes)])),
        countedMb: Object.fromEntries(Object.entries(counted).map(([id, bytes]) => [id, mb(bytes)])),
        /** What the cache would count holding every large execution (the huge one aside). */
        unboundedMb: mb(unboundedBytes),
        large: { requests, upstreamCalls: calls, cacheHits, sharedCalls: cached.reduce((sum, stats) => sum + stats.upstream.sharedCalls, 0) },
        huge: { overTheCache: (counted[HUGE] ?? 0) > CACHE_MAX_BYTES, requests: huge.requests, ...huge.upstream },
        text: '',
      };
      summary.text =
        `Large payloads (CACHE_MAX_BYTES ${mb(CACHE_MAX_BYTES)} MiB; bodies ${Object.values(summary.bodyMb).join(', ')} MiB, each counted ${HEAP_NOTE}): ` +
        `${requests} requests on the ${LARGE.length} large executions made ${calls} upstream calls and had ${cacheHits} cache hits ` +
        `(all ${LARGE.length} cached at once would count ${summary.unboundedMb} MiB); ` +
        `${huge.requests} requests on ${HUGE} (counted ${summary.countedMb[HUGE]} MiB${summary.huge.overTheCache ? ', more than the whole cache' : ''}) made ${huge.upstream.calls} calls and had ${huge.upstream.cacheHits} cache hits.`;
      return summary;
    })()
  : undefined;
if (largeSummary?.huge.overTheCache && largeSummary.huge.cacheHits > 0) failures.push(`${HUGE}, bigger than the whole cache, was answered from it ${largeSummary.huge.cacheHits} times`);
const pass = failures.length === 0;

/** Least-squares slope of RSS over the second half of the run, in MB per minute: ~0 once memory has plateaued. */
function rssSlopeMbPerMinute(points: Sample[]): number {
  const half = points.slice(Math.floor(points.length / 2));
  if (half.length < 5) return Number.NaN;
  const meanT = half.reduce((sum, p) => sum + p.t, 0) / half.length;
  const meanR = half.reduce((sum, p) => sum + p.rssMb, 0) / half.length;
  const num = half.reduce((sum, p) => sum + (p.t - meanT) * (p.rssMb - meanR), 0);
  const den = half.reduce((sum, p) => sum + (p.t - meanT) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}
const rssSlope = rssSlopeMbPerMinute(measured.filter((s) => s.t <= endSample.t));

const kindRows = KINDS.map((kind) => {
  const stats = tally.kind(kind.name);
  const sorted = [...stats.durations].sort((a, b) => a - b);
  return {
    kind: kind.name,
    about: kind.about,
    expected: kind.expect,
    requests: stats.requests,
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    http: stats.http,
    codes: stats.codes,
    circuitOpenByIdClass: stats.circuitOpenByClass,
    malformed: stats.malformed,
    unexpected: stats.unexpected,
    dataProblems: stats.dataProblems,
    matched: stats.malformed + stats.unexpected + stats.dataProblems === 0,
    upstream: stats.upstream,
  };
});
const allDurations = [...tally.kinds.values()].flatMap((stats) => stats.durations);
const own = allDurations.length ? summarize(allDurations) : undefined;
const circuitOpenTotal = kindRows.reduce((sum, row) => sum + (row.codes[CIRCUIT_OPEN] ?? 0), 0);
const circuitOpenHealthy = kindRows.reduce((sum, row) => sum + (row.circuitOpenByIdClass.healthy ?? 0), 0);
const upstreamCalls: Record<string, number> = {};
for (const [id, count] of Object.entries(upstreamAtEnd.calls)) {
  const delta = count - (upstreamAtStart.calls[id] ?? 0);
  if (delta > 0) upstreamCalls[id] = delta;
}
const httpStatuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]));

const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
  /** 1/5/15-minute load averages of the host: other work on the machine skews latency figures. */
  loadAverage: { start: loadAverageAtStart.map((n) => round(n, 2)), end: loadAverageAtEnd.map((n) => round(n, 2)) },
  settings: {
    soakSeconds: SOAK_SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    connections: CONNECTIONS,
    maxRssGrowthMb: MAX_RSS_GROWTH_MB,
    gatewayEnv: GATEWAY_ENV,
    faults: FAULTS,
    largePayloads: LARGE_PAYLOADS ? { bodyBytes: largeBodyBytes } : false,
  },
  pass,
  failures,
  warnings,
  durationSeconds: result.duration,
  requests: result.requests.total,
  requestsPerSecond: round(result.requests.total / result.duration),
  responsesInspected: tally.responses,
  latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, p99_9: result.latency.p99_9, max: result.latency.max, mean: round(result.latency.average) },
  latencyMsOwnTiming: own ? { p50: round(own.p50), p99: round(own.p99), mean: round(own.mean) } : undefined,
  httpStatuses,
  driverErrors: { timeouts: result.timeouts, errors: result.errors, byCode: result.reqErrors },
  malformedResponses: tally.malformed,
  unexpectedCodes: tally.unexpected,
  dataProblems: tally.dataProblems,
  circuitOpen: { answers: circuitOpenTotal, onHealthyIds: circuitOpenHealthy },
  kinds: kindRows,
  largePayloads: largeSummary ?? null,
  problems: { counts: { ...warmupTally.problemCounts, ...tally.problemCounts }, examples: [...warmupTally.problems, ...tally.problems] },
  warmup: { responses: warmupTally.responses, malformed: warmupTally.malformed, unexpected: warmupTally.unexpected, dataProblems: warmupTally.dataProblems },
  gateway: {
    alive,
    exit: gatewayExit ?? null,
    recoveredAfterRun: recovered,
    recoveryNote,
    rssMb: {
      start: round(start.rssMb),
      peak: round(peak.rssMb),
      peakAtSecond: round(peak.t - start.t),
      end: round(endSample.rssMb),
      afterIdle: round(idle.rssMb),
      growth: round(rssGrowth),
      secondHalfSlopeMbPerMinute: round(rssSlope, 2),
      vmHwm: round(vmHwmMb),
    },
    openFds: { start: start.fds ?? null, peak: peakFds, end: endSample.fds ?? null, afterIdle: idle.fds ?? null },
    cpuPercentOfOneCore: round((cpuUsed / wallSeconds) * 100),
    rssSamples: samples.map((s) => [round(s.t - start.t), s.rssMb, s.fds ?? null]),
  },
  upstream: { callsDuringRun: upstreamCalls, inFlightAfterIdle: upstreamAtEnd.inFlight, maxInFlight: upstreamAtEnd.maxInFlight },
  gatewayLog: { byLevelAndMessage: gatewayLog, firstExamples: gatewayLogExamples },
  gatewayNodeWarnings: { byKind: gatewayWarnings, firstExamples: gatewayWarningExamples },
};

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/soak.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);

const codeList = (codes: Record<string, number>) =>
  Object.entries(codes)
    .sort((a, b) => b[1] - a[1])
    .map(([code, count]) => `${code} ×${count}`)
    .join(', ') || '—';
const md = [
  `## Soak: ${pass ? 'PASS' : 'FAIL'}`,
  '',
  `${report.cpus}, Node ${process.version}; ${CONNECTIONS} connections for ${result.duration} s after ${WARMUP_SECONDS} s warm-up; gateway ${Object.entries(GATEWAY_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}. Host load average (1 min) ${report.loadAverage.start[0]} at start, ${report.loadAverage.end[0]} at end.`,
  '',
  '| figure | value |',
  '|---|---:|',
  `| requests | ${result.requests.total.toLocaleString('en-US')} |`,
  `| requests/s | ${report.requestsPerSecond} |`,
  `| latency p50 / p90 / p99 / max (ms) | ${result.latency.p50} / ${result.latency.p90} / ${result.latency.p99} / ${result.latency.max} |`,
  `| HTTP statuses | ${codeList(httpStatuses)} |`,
  `| driver timeouts / errors | ${result.timeouts} / ${result.errors} |`,
  `| malformed GraphQL responses | ${tally.malformed} |`,
  `| unexpected codes / statuses | ${tally.unexpected} |`,
  `| wrong or missing data | ${tally.dataProblems} |`,
  `| circuit-open answers (on healthy ids) | ${circuitOpenTotal} (${circuitOpenHealthy}) |`,
  `| gateway RSS start / peak / end / after idle (MB) | ${round(start.rssMb)} / ${round(peak.rssMb)} / ${round(endSample.rssMb)} / ${round(idle.rssMb)} (growth ${round(rssGrowth)}, limit ${MAX_RSS_GROWTH_MB}; VmHWM ${round(vmHwmMb)}) |`,
  `| gateway RSS slope, second half of the run (MB/min) | ${round(rssSlope, 2)} |`,
  `| gateway open fds start / peak / end / after idle | ${start.fds} / ${peakFds} / ${endSample.fds} / ${idle.fds} |`,
  `| gateway CPU (% of one core) | ${report.gateway.cpuPercentOfOneCore} |`,
  `| gateway alive / answers after run | ${alive ? 'yes' : 'NO'} / ${recovered ? 'yes' : 'NO'} |`,
  `| upstream requests open after idle | ${upstreamAtEnd.inFlight} (max in flight ${upstreamAtEnd.maxInFlight}) |`,
  '',
  '| kind | requests | p50 / p99 (ms) | HTTP | codes | expected | match |',
  '|---|---:|---:|---|---|---|:---:|',
  ...kindRows.map(
    (row) =>
      `| ${row.kind} | ${row.requests} | ${row.p50Ms} / ${row.p99Ms} | ${codeList(row.http)} | ${codeList(row.codes)} | ${row.expected} | ${row.matched ? 'yes' : `**no** (${row.malformed} malformed, ${row.unexpected} unexpected, ${row.dataProblems} data)`} |`,
  ),
  '',
  `Upstream calls during the run: ${codeList(upstreamCalls)}.`,
  ...(largeSummary ? ['', largeSummary.text] : []),
  '',
  `Gateway log lines (level: message; whole process life, warm-up included): ${codeList(gatewayLog)}.`,
  '',
  `Gateway Node process warnings: ${codeList(gatewayWarnings)}.`,
  '',
  ...(failures.length ? ['**Failures:**', ...failures.map((f) => `- ${f}`), ''] : []),
  ...(warnings.length ? ['**Warnings:**', ...warnings.map((w) => `- ${w}`), ''] : []),
  ...(Object.keys(report.problems.counts).length
    ? ['Problems (count, first examples in bench/results/soak.json):', ...Object.entries(report.problems.counts).map(([what, n]) => `- ${what} ×${n}`), '']
    : []),
  'Full figures: bench/results/soak.json',
];
stdout();
stdout(md.join('\n'));
process.exit(pass ? 0 : 1);
