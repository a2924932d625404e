/**
 * The side-by-side benchmark's scenarios (S1–S7, S1M, S2M): the data the fake
 * upstream holds, and for each scenario the same question asked three ways —
 * GraphQL to the gateway, GET to the floor proxy, and REST straight to upstream.
 */
import { DEMO_TOKEN, makeExecution, type ExecutionSpec, type StoredExecution } from '../../src/demo/demo-data.js';
import type { LoadOptions, LoadRequest } from './load.js';

export const RUNNING_IDS = Array.from({ length: 1024 }, (_, i) => `ex_poll_${i}`);
export const PAGE_IDS = Array.from({ length: 128 }, (_, i) => `ex_page_${i}`);
export const TEN_K_ID = 'ex_events_10k';
export const HUNDRED_K_ID = 'ex_events_100k';
export const TERMINAL_ID = 'ex_done_1';

/** What bench/upstream-server.ts is started with (a JSON command-line argument, so kept small). */
export interface UpstreamSpec {
  executions: ExecutionSpec[];
  latencyMs?: number;
  /** Also serve the many-callers data set (manyCallerData()): its tokens and executions. */
  manyCallers?: boolean;
}

export function upstreamData(): UpstreamSpec {
  return {
    executions: [
      ...RUNNING_IDS.map((id) => ({ id, status: 'workflow_running', eventCount: 5 })),
      ...PAGE_IDS.map((id) => ({ id, status: 'workflow_running', eventCount: 45 })),
      { id: TEN_K_ID, status: 'workflow_running', eventCount: 10_000 },
      { id: HUNDRED_K_ID, status: 'workflow_running', eventCount: 100_000 },
      { id: TERMINAL_ID, status: 'workflow_succeeded', eventCount: 12 },
    ],
    manyCallers: true,
  };
}

// ---------------------------------------------------------------------------
// Many callers (S1M, S2M): 100 bearer tokens, each of its own organization, and
// 600 running executions per scenario spread over those organizations, with
// nested payloads. The driver and the fake upstream (a separate process) both
// derive it from these constants, so it is never sent over the command line.

export const MANY_CALLERS = 100;
export const MANY_EXECUTIONS = 600;
const callerIndex = (k: number) => String(k).padStart(3, '0');
export const manyCallerToken = (k: number) => `bench-caller-${callerIndex(k)}`;
export const manyCallerOrganization = (k: number) => `org_bench_${callerIndex(k)}`;
export const MANY_POLL_IDS = Array.from({ length: MANY_EXECUTIONS }, (_, j) => `ex_mpoll_${j}`);
export const MANY_PAGE_IDS = Array.from({ length: MANY_EXECUTIONS }, (_, j) => `ex_mpage_${j}`);
/** Execution j belongs to organization j mod 100, whose only token is caller j mod 100. */
const ownerOf = (j: number) => j % MANY_CALLERS;

/** Bearer token → organization, for FakeUpstream's `tokens`. */
export function manyCallerTokens(): Record<string, string> {
  return Object.fromEntries(Array.from({ length: MANY_CALLERS }, (_, k) => [manyCallerToken(k), manyCallerOrganization(k)]));
}

const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'] as const;
const COUNTRIES = ['US', 'DE', 'GB', 'JP', 'FR', 'NL'] as const;
const money = (currency: string, value: number) => ({ currency, value, formatted: `${(value / 100).toFixed(2)} ${currency}` });

/** An execution of the many-callers set, with payloads three to five levels deep like a billing workflow's. */
function manyCallerExecution(id: string, j: number, eventCount: number): StoredExecution {
  const owner = ownerOf(j);
  const stored = makeExecution({ id, status: 'workflow_running', organizationId: manyCallerOrganization(owner), eventCount, minute: j % 1440 });
  const currency = CURRENCIES[j % CURRENCIES.length]!;
  const country = COUNTRIES[j % COUNTRIES.length]!;
  const lineCount = 1 + (j % 4);
  const lines = Array.from({ length: lineCount }, (_, l) => {
    const qty = 1 + ((j + l) % 5);
    const unit = 990 + ((j * 37 + l * 101) % 9000);
    return {
      sku: `sku_${j}_${l}`,
      description: `Seat licence, tier ${1 + ((j + l) % 3)}`,
      qty,
      unitPrice: money(currency, unit),
      tax: { rate: 0.2, jurisdiction: { country, region: null }, amount: money(currency, Math.round(qty * unit * 0.2)) },
      metadata: { catalog: { version: 7, product: { family: 'licences', variant: `v${l}` } } },
    };
  });
  const subtotal = lines.reduce((sum, line) => sum + line.qty * line.unitPrice.value, 0);
  const tax = lines.reduce((sum, line) => sum + line.tax.amount.value, 0);
  const execution = stored.execution;
  execution.clientSafeMetadata = {
    channel: j % 3 === 0 ? 'dashboard' : 'api',
    locale: j % 2 ? 'en-GB' : 'de-DE',
    plan: { seats: 5 + (j % 40), tier: j % 5 === 0 ? 'enterprise' : 'pro', addons: [{ code: 'sso', qty: 1 }, { code: 'audit-log', qty: 1 }] },
    ui: { source: 'checkout', session: { device: { os: 'macOS', browser: { name: 'Firefox', major: 128 } }, experiment: { key: 'pricing-2026', variant: j % 2 ? 'a' : 'b' } } },
  };
  execution.requestPayload = {
    invoice: {
      id: `inv_${j}`,
      number: `INV-2026-${String(j).padStart(5, '0')}`,
      issuedAt: execution.createdAt,
      lines,
      totals: { subtotal: money(currency, subtotal), tax: money(currency, tax), total: money(currency, subtotal + tax) },
    },
    customer: {
      id: `cus_${owner}_${j}`,
      name: `Customer ${j}`,
      email: `billing+${j}@customer-${owner}.example`,
      billingAddress: { line1: `${j} Market Street`, city: 'Springfield', postalCode: String(10_000 + j), country },
      taxIds: [{ type: 'vat', value: `${country}${100_000_000 + j}`, verification: { status: 'verified', checkedAt: execution.createdAt } }],
    },
    payment: { method: 'card', card: { brand: j % 2 ? 'visa' : 'mastercard', last4: String(1000 + (j % 9000)), expires: { month: 1 + (j % 12), year: 2028 } }, captureMode: 'automatic' },
    options: { notify: { email: true, webhook: { url: `https://hooks.customer-${owner}.example/billing`, retries: { max: 5, backoffMs: [1000, 5000, 30000] } } } },
  };
  execution.responsePayload = {
    progress: { completedNodes: 2, totalNodes: 5, current: { nodeId: 'node_3', attempt: 1, startedAt: execution.startedAt } },
    partial: { charge: { status: 'authorized', authorization: { code: `A${j}`, network: { name: 'card-network', transactionId: `txn_${j}` } } } },
  };
  for (const event of stored.events) {
    const seq = Number(event.data?.seq ?? 0);
    const completed = event.eventType === 'node.completed';
    event.data = {
      seq,
      node: { id: event.nodeId ?? 'workflow', kind: seq % 2 ? 'http' : 'transform', attempt: 1 + (seq % 7 === 0 ? 1 : 0) },
      detail: {
        durationMs: (seq * 37) % 1000,
        ok: event.eventType !== 'node.failed',
        metrics: { cpuMs: (seq * 13) % 200, memory: { rssMb: 120 + (seq % 50), heapUsedMb: 60 + (seq % 30) } },
      },
      input: {
        request: {
          method: 'POST',
          url: `https://billing.internal/v2/invoices/inv_${j}/steps/${seq}`,
          headers: { 'content-type': 'application/json', 'x-correlation-id': `${id}-${seq}` },
        },
      },
      output: completed ? { response: { status: 200, body: { stepId: `step_${seq}`, result: { accepted: true, amount: money(currency, subtotal) } } } } : null,
      tags: ['billing', 'invoice', `org:${owner}`],
    };
  }
  return stored;
}

/** The many-callers executions, built in the fake upstream's process. */
export function manyCallerData(): StoredExecution[] {
  return [
    ...MANY_POLL_IDS.map((id, j) => manyCallerExecution(id, j, 5)),
    ...MANY_PAGE_IDS.map((id, j) => manyCallerExecution(id, j, 45)),
  ];
}

export interface GraphQLBody {
  query: string;
  variables: Record<string, unknown>;
}

export interface Scenario {
  key: string;
  title: string;
  /** Concurrent connections (closed loop). */
  connections: number;
  /** Latency the fake upstream adds to every answer during this scenario. */
  upstreamLatencyMs: number;
  /** Per-request timeout of the load driver, seconds. */
  timeoutS: number;
  gateway: (i: number) => GraphQLBody;
  floor: (i: number) => string;
  /** REST paths the direct reference fetches for the i-th request (more than one: fan-out). */
  direct: (i: number) => string[];
  directNote: string;
  /**
   * The i-th request's `authorization` header, sent to every kind of target, when
   * the scenario has many callers; otherwise every request carries the demo token.
   */
  authorization?: (i: number) => string;
}

const rest = (id: string) => `/v1/executions/${id}`;
const q = encodeURIComponent;

const STATUS_QUERY = 'query Status($id: ID!) { execution(id: $id) { id status updatedAt } }';
const PAGE_QUERY = `query Page($id: ID!) {
  execution(id: $id) {
    id status rawStatus isTerminal statusReason paymentStatus orderId externalRef runId workflowId
    createdAt updatedAt startedAt finishedAt requestPayload
    events(first: 20) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id createdAt eventType level title message nodeId } }
    }
  }
}`;
const FANOUT_QUERY = 'query Many($ids: [ID!]!) { executions(ids: $ids) { id status isTerminal updatedAt } }';
const ALIASES_QUERY = `query Aliases($id: ID!) { ${Array.from({ length: 10 }, (_, i) => `a${i}: execution(id: $id) { id status updatedAt }`).join(' ')} }`;
const EVENTS_QUERY = `query Events($id: ID!) {
  execution(id: $id) {
    id
    events(first: 20) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id createdAt level eventType message } }
    }
  }
}`;
const TERMINAL_QUERY = 'query Finished($id: ID!) { execution(id: $id) { id status isTerminal updatedAt finishedAt } }';

/** 20 distinct ids for the i-th fan-out request. */
export function fanoutIds(i: number): string[] {
  return Array.from({ length: 20 }, (_, k) => RUNNING_IDS[(i * 20 + k) % RUNNING_IDS.length]!);
}

export function scenarios(connections: number, concurrencyPerRequest: number): Scenario[] {
  const poll = (i: number) => RUNNING_IDS[i % RUNNING_IDS.length]!;
  const page = (i: number) => PAGE_IDS[i % PAGE_IDS.length]!;
  // Consecutive requests name different executions and callers; a (caller, execution)
  // pair comes back once every 600 requests, and these executions are running, so
  // not cached by default (ACTIVE_CACHE_TTL_MS=0).
  const many = (ids: readonly string[]) => (i: number) => ids[i % ids.length]!;
  const manyPoll = many(MANY_POLL_IDS);
  const manyPage = many(MANY_PAGE_IDS);
  const manyCaller = (i: number) => `Bearer ${manyCallerToken(ownerOf(i % MANY_EXECUTIONS))}`;
  return [
    {
      key: 'S1',
      title: `status poll (id status updatedAt), ${RUNNING_IDS.length} ids round-robin`,
      connections,
      upstreamLatencyMs: 0,
      timeoutS: 10,
      gateway: (i) => ({ query: STATUS_QUERY, variables: { id: poll(i) } }),
      floor: (i) => `/s1?id=${q(poll(i))}`,
      direct: (i) => [rest(poll(i))],
      directNote: '1 REST GET',
    },
    {
      key: 'S2',
      title: `execution page (15 fields + first 20 of 45 events with cursors), ${PAGE_IDS.length} ids`,
      connections,
      upstreamLatencyMs: 0,
      timeoutS: 10,
      gateway: (i) => ({ query: PAGE_QUERY, variables: { id: page(i) } }),
      floor: (i) => `/s2?id=${q(page(i))}`,
      direct: (i) => [rest(page(i))],
      directNote: '1 REST GET',
    },
    {
      key: 'S3',
      title: 'fan-out: executions(ids) with 20 distinct ids, upstream answering in 20 ms',
      connections,
      upstreamLatencyMs: 20,
      timeoutS: 10,
      gateway: (i) => ({ query: FANOUT_QUERY, variables: { ids: fanoutIds(i) } }),
      floor: (i) => `/s3?ids=${fanoutIds(i).map(q).join(',')}`,
      direct: (i) => fanoutIds(i).map(rest),
      directNote: `20 REST GETs by the driver, ${concurrencyPerRequest} at a time, 64-socket pool`,
    },
    {
      key: 'S4',
      title: 'the same id under 10 aliases (id status updatedAt)',
      connections,
      upstreamLatencyMs: 0,
      timeoutS: 10,
      gateway: (i) => ({ query: ALIASES_QUERY, variables: { id: poll(i) } }),
      floor: (i) => `/s4?id=${q(poll(i))}&n=10`,
      direct: (i) => [rest(poll(i))],
      directNote: '1 REST GET',
    },
    {
      key: 'S5',
      title: 'first 20 events of a 10,000-event execution',
      connections,
      upstreamLatencyMs: 0,
      timeoutS: 30,
      gateway: () => ({ query: EVENTS_QUERY, variables: { id: TEN_K_ID } }),
      floor: () => `/s5?id=${TEN_K_ID}`,
      direct: () => [rest(TEN_K_ID)],
      directNote: '1 REST GET (whole body)',
    },
    {
      key: 'S6',
      title: 'repeated polls of one finished execution (id status isTerminal updatedAt finishedAt)',
      connections,
      upstreamLatencyMs: 0,
      timeoutS: 10,
      gateway: () => ({ query: TERMINAL_QUERY, variables: { id: TERMINAL_ID } }),
      floor: () => `/s6?id=${TERMINAL_ID}`,
      direct: () => [rest(TERMINAL_ID)],
      directNote: '1 REST GET',
    },
    {
      key: 'S7',
      title: 'first 20 events of a 100,000-event execution, 8 clients',
      connections: 8,
      upstreamLatencyMs: 0,
      timeoutS: 120,
      gateway: () => ({ query: EVENTS_QUERY, variables: { id: HUNDRED_K_ID } }),
      floor: () => `/s7?id=${HUNDRED_K_ID}`,
      direct: () => [rest(HUNDRED_K_ID)],
      directNote: '1 REST GET (whole body)',
    },
    {
      key: 'S1M',
      title: `S1's status poll from many callers: ${MANY_CALLERS} bearer tokens (one organization each), ${MANY_EXECUTIONS} running executions with nested payloads, round-robin`,
      connections,
      upstreamLatencyMs: 0,
      timeoutS: 10,
      gateway: (i) => ({ query: STATUS_QUERY, variables: { id: manyPoll(i) } }),
      floor: (i) => `/s1?id=${q(manyPoll(i))}`,
      direct: (i) => [rest(manyPoll(i))],
      directNote: '1 REST GET',
      authorization: manyCaller,
    },
    {
      key: 'S2M',
      title: `S2's execution page from many callers: ${MANY_CALLERS} bearer tokens, ${MANY_EXECUTIONS} running executions of 45 events with nested payloads and event data`,
      connections,
      upstreamLatencyMs: 0,
      timeoutS: 10,
      gateway: (i) => ({ query: PAGE_QUERY, variables: { id: manyPage(i) } }),
      floor: (i) => `/s2?id=${q(manyPage(i))}`,
      direct: (i) => [rest(manyPage(i))],
      directNote: '1 REST GET',
      authorization: manyCaller,
    },
  ];
}

// ---------------------------------------------------------------------------
// The i-th request of a scenario, as each kind of target is asked it

export type TargetKind = 'direct' | 'floor' | 'gateway';

const authorization = `Bearer ${DEMO_TOKEN}`;

/** The i-th request; `headers` (only for many-caller scenarios) go on top of headersFor(kind). */
export function requestFor(scenario: Scenario, kind: TargetKind, i: number): LoadRequest {
  const caller = scenario.authorization ? { headers: { authorization: scenario.authorization(i) } } : {};
  if (kind === 'gateway') return { method: 'POST', path: '/graphql', body: JSON.stringify(scenario.gateway(i)), ...caller };
  if (kind === 'floor') return { method: 'GET', path: scenario.floor(i), ...caller };
  return { method: 'GET', path: scenario.direct(i)[0]!, ...caller };
}

/** Headers every request of a kind carries (the demo token unless the request names its caller). */
export const headersFor = (kind: TargetKind): Record<string, string> =>
  kind === 'gateway' ? { authorization, 'content-type': 'application/json', accept: 'application/json' } : { authorization };

/** All headers of one request: headersFor(kind) with the request's own on top. */
export const headersOf = (kind: TargetKind, one: LoadRequest): Record<string, string> => (one.headers ? { ...headersFor(kind), ...one.headers } : headersFor(kind));

/** Whether a 2xx body is a full answer: upstream's 200 envelope, or GraphQL data without errors. */
export const verifierFor = (kind: TargetKind) =>
  kind === 'direct' ? (body: string) => body.startsWith('{"code":200') : (body: string) => body.includes('"data"') && !body.includes('"errors"');

/** A run's options for one scenario against one kind of target, all but its length (bench:alloc, bench:gc and bench:cpu ask alike). */
export function loadOptionsFor(scenario: Scenario, kind: TargetKind, origin: string, connections: number): Omit<LoadOptions, 'duration'> {
  return {
    origin,
    headers: headersFor(kind),
    request: (i) => requestFor(scenario, kind, i),
    connections,
    timeout: scenario.timeoutS,
    verifyBody: verifierFor(kind),
  };
}
