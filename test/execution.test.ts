import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, codes, LANES } from './support/harness.js';

const STATUSES = [
  ['awaiting_payment', 'AWAITING_PAYMENT', false],
  ['payment_confirmed', 'PAYMENT_CONFIRMED', false],
  ['workflow_queued', 'WORKFLOW_QUEUED', false],
  ['workflow_running', 'WORKFLOW_RUNNING', false],
  ['workflow_waiting', 'WORKFLOW_WAITING', false],
  ['workflow_succeeded', 'WORKFLOW_SUCCEEDED', true],
  ['workflow_failed', 'WORKFLOW_FAILED', true],
  ['workflow_cancelled', 'WORKFLOW_CANCELLED', true],
] as const;

const ALL_FIELDS = `
  id status rawStatus isTerminal statusReason paymentStatus checkoutSessionId orderId externalRef
  idempotencyKey initiatedById initiatedByType organizationId runId workflowId sourceEntityId
  sourceEntityType sourceSystem clientSafeMetadata requestPayload responsePayload
  createdAt updatedAt startedAt finishedAt
`;

let harness: Harness;
describe.each(LANES)('%s lane', (lane) => {
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      upstream: {
        executions: [
          ...STATUSES.map(([raw], i) => makeExecution({ id: `ex_status_${i}`, status: raw, minute: i })),
          makeExecution({ id: 'ex_future', status: 'workflow_paused' }),
          makeExecution({ id: 'ex_future_2', status: 'workflow_paused' }),
          makeExecution({ id: 'ex_other_future', status: 'refund_pending' }),
        ],
      },
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  describe('Execution fields', () => {
    it.each(STATUSES.map((row, i) => [...row, i] as const))('serves every field of a %s execution', async (raw, mapped, terminal, i) => {
      const id = `ex_status_${i}`;
      const response = await harness.query<{ execution: Record<string, unknown> }>(`query($id: ID!) { execution(id: $id) { ${ALL_FIELDS} } }`, { id });
      expect(response.errors).toBeUndefined();
      const upstream = harness.upstream.get(id)!.execution;
      const { status: _status, ...sameAsUpstream } = upstream;
      expect(response.data!.execution).toEqual({
        ...sameAsUpstream,
        checkoutSessionId: upstream.checkoutSessionId ?? null,
        statusReason: upstream.statusReason ?? null,
        responsePayload: upstream.responsePayload ?? null,
        status: mapped,
        rawStatus: raw,
        isTerminal: terminal,
      });
      // Started and finished timestamps follow the lifecycle.
      expect(response.data!.execution.finishedAt === null).toBe(!terminal);
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it('maps a status the enum lacks to UNKNOWN, keeps rawStatus and every other field, and warns once per value', async () => {
      const query = `query($id: ID!) { execution(id: $id) { id status rawStatus isTerminal workflowId events { totalCount } } }`;
      const first = await harness.query<{ execution: Record<string, unknown> }>(query, { id: 'ex_future' });
      expect(first.errors).toBeUndefined();
      expect(first.data!.execution).toEqual({
        id: 'ex_future',
        status: 'UNKNOWN',
        rawStatus: 'workflow_paused',
        isTerminal: false,
        workflowId: harness.upstream.get('ex_future')!.execution.workflowId,
        events: { totalCount: 5 },
      });
      await harness.query(query, { id: 'ex_future_2' });
      await harness.query(query, { id: 'ex_future' });
      await harness.query(query, { id: 'ex_other_future' });
      const warnings = harness.logs.filter((line) => typeof line.rawStatus === 'string');
      expect(warnings.map((line) => line.rawStatus)).toEqual(['workflow_paused', 'refund_pending']);
      expect(warnings.every((line) => line.level === 40)).toBe(true);
    });

    it('answers null with NOT_FOUND for an execution upstream does not have', async () => {
      const response = await harness.query(`{ execution(id: "ex_missing") { id } }`);
      expect(response.data).toEqual({ execution: null });
      expect(codes(response)).toEqual(['NOT_FOUND']);
      expect(response.errors![0]!.path).toEqual(['execution']);
      expect(response.errors![0]!.extensions).toMatchObject({ upstreamStatus: 404, upstreamRequestId: expect.stringMatching(/^up-/) });
    });
  });
});
