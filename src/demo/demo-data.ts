/**
 * Deterministic executions and events that speak the documented upstream
 * contract. They feed the demo (`npm start` without UPSTREAM_URL), the tests and
 * the benchmark, so all three exercise the same shapes.
 */
import { UPSTREAM_STATUSES } from '../domain/execution-status.js';
import type { UpstreamEvent, UpstreamExecution } from '../upstream/envelope.js';

export interface StoredExecution {
  execution: UpstreamExecution;
  events: UpstreamEvent[];
}

export const DEMO_TOKEN = 'demo-token';
export const DEMO_ORGANIZATION = 'org_demo';

const EVENT_TYPES = ['log', 'node.started', 'log', 'node.completed', 'log', 'node.failed'] as const;
const LEVELS = ['debug', 'info', 'info', 'warn', 'info', 'error'] as const;
const BASE_TIME = Date.parse('2026-03-01T12:00:00.000Z');

export interface ExecutionSpec {
  id: string;
  status: string;
  organizationId?: string;
  eventCount?: number;
  /** Minutes after the base time at which the execution was created; spreads demo data out. */
  minute?: number;
}

const TERMINAL = new Set(['workflow_succeeded', 'workflow_failed', 'workflow_cancelled']);
const NOT_STARTED = new Set(['awaiting_payment', 'payment_confirmed', 'workflow_queued']);

export function makeExecution(spec: ExecutionSpec): StoredExecution {
  const organizationId = spec.organizationId ?? DEMO_ORGANIZATION;
  const n = spec.id.replace(/[^0-9]/g, '') || '0';
  const createdMs = BASE_TIME + (spec.minute ?? 0) * 60_000;
  const eventCount = spec.eventCount ?? 5;
  const events = makeEvents(spec.id, organizationId, eventCount, createdMs + 1000);
  const lastEventMs = events.length ? Date.parse(events[events.length - 1]!.createdAt) : createdMs;
  const execution: UpstreamExecution = {
    checkoutSessionId: `cs_${spec.id}`,
    clientSafeMetadata: { channel: 'api', locale: 'en-GB', plan: { seats: 8, tier: 'pro' } },
    createdAt: iso(createdMs),
    externalRef: `ext-${n.padStart(6, '0')}`,
    finishedAt: TERMINAL.has(spec.status) ? iso(lastEventMs) : null,
    id: spec.id,
    idempotencyKey: `idem_${spec.id}`,
    initiatedById: `usr_${n}`,
    initiatedByType: 'api_key',
    orderId: `ord_${n}`,
    organizationId,
    paymentStatus: spec.status === 'awaiting_payment' ? 'pending' : 'paid',
    requestPayload: { amount: { currency: 'USD', value: 875 }, items: [{ qty: 4, sku: `sku_${n}` }] },
    responsePayload:
      spec.status === 'workflow_failed'
        ? { attempts: 2, error: { code: 'NODE_TIMEOUT', nodeId: 'node_3', retryable: true } }
        : spec.status === 'workflow_succeeded'
          ? { attempts: 1, result: { ok: true } }
          : null,
    runId: `run_${spec.id}`,
    sourceEntityId: `ent_${n}`,
    sourceEntityType: 'invoice',
    sourceSystem: 'billing',
    startedAt: NOT_STARTED.has(spec.status) ? null : iso(createdMs + 500),
    status: spec.status,
    statusReason: spec.status === 'workflow_failed' ? 'node_3 timed out after 30000ms' : null,
    updatedAt: iso(lastEventMs),
    workflowId: `wf_${n}`,
  };
  return { execution, events };
}

/**
 * Events in chronological order, two per second, so pairs share a timestamp
 * (ties are part of the contract the events connection has to honour).
 */
export function makeEvents(executionId: string, organizationId: string, count: number, startMs: number, firstSeq = 1): UpstreamEvent[] {
  const events: UpstreamEvent[] = [];
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const type = EVENT_TYPES[seq % EVENT_TYPES.length]!;
    events.push({
      createdAt: iso(startMs + Math.floor(seq / 2) * 1000),
      data: { seq, detail: { durationMs: (seq * 37) % 1000, ok: type !== 'node.failed' } },
      eventType: type,
      executionId,
      id: `ev_${executionId}_${seq}`,
      level: LEVELS[seq % LEVELS.length]!,
      message: `${type} #${seq} for ${executionId}`,
      nodeId: seq % 3 === 0 ? null : `node_${seq % 5}`,
      organizationId,
      requestId: `req_${executionId}`,
      runId: `run_${executionId}`,
      title: type === 'log' ? null : `Node ${type.split('.')[1]}`,
      workflowId: `wf_${executionId.replace(/[^0-9]/g, '') || '0'}`,
    });
  }
  return events;
}

/** The demo set: one execution per status, and one long-running execution with many events. */
export function demoExecutions(): StoredExecution[] {
  return [
    ...UPSTREAM_STATUSES.map((status, i) => makeExecution({ id: `ex_demo_${i + 1}`, status, minute: i, eventCount: 3 + i * 2 })),
    makeExecution({ id: 'ex_demo_long', status: 'workflow_running', minute: 30, eventCount: 1000 }),
  ];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
