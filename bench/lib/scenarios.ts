/**
 * The side-by-side benchmark's scenarios (S1–S7): the data the fake upstream
 * holds, and for each scenario the same question asked three ways — GraphQL to
 * the gateway, GET to the floor proxy, and REST straight to upstream.
 */
import { DEMO_TOKEN, type ExecutionSpec } from '../../src/demo/demo-data.js';
import type { LoadRequest } from './load.js';

export const RUNNING_IDS = Array.from({ length: 1024 }, (_, i) => `ex_poll_${i}`);
export const PAGE_IDS = Array.from({ length: 128 }, (_, i) => `ex_page_${i}`);
export const TEN_K_ID = 'ex_events_10k';
export const HUNDRED_K_ID = 'ex_events_100k';
export const TERMINAL_ID = 'ex_done_1';

export function upstreamData(): ExecutionSpec[] {
  return [
    ...RUNNING_IDS.map((id) => ({ id, status: 'workflow_running', eventCount: 5 })),
    ...PAGE_IDS.map((id) => ({ id, status: 'workflow_running', eventCount: 45 })),
    { id: TEN_K_ID, status: 'workflow_running', eventCount: 10_000 },
    { id: HUNDRED_K_ID, status: 'workflow_running', eventCount: 100_000 },
    { id: TERMINAL_ID, status: 'workflow_succeeded', eventCount: 12 },
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
  ];
}

// ---------------------------------------------------------------------------
// The i-th request of a scenario, as each kind of target is asked it

export type TargetKind = 'direct' | 'floor' | 'gateway';

const authorization = `Bearer ${DEMO_TOKEN}`;

export function requestFor(scenario: Scenario, kind: TargetKind, i: number): LoadRequest {
  if (kind === 'gateway') return { method: 'POST', path: '/graphql', body: JSON.stringify(scenario.gateway(i)) };
  if (kind === 'floor') return { method: 'GET', path: scenario.floor(i) };
  return { method: 'GET', path: scenario.direct(i)[0]! };
}

export const headersFor = (kind: TargetKind): Record<string, string> =>
  kind === 'gateway' ? { authorization, 'content-type': 'application/json', accept: 'application/json' } : { authorization };

/** Whether a 2xx body is a full answer: upstream's 200 envelope, or GraphQL data without errors. */
export const verifierFor = (kind: TargetKind) =>
  kind === 'direct' ? (body: string) => body.startsWith('{"code":200') : (body: string) => body.includes('"data"') && !body.includes('"errors"');
