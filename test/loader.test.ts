import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';

const FANOUT_IDS = Array.from({ length: 20 }, (_, i) => `ex_fan_${i}`);

let harness: Harness;
describe.each(LANES)('%s lane', (lane) => {
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      upstream: {
        executions: [
          makeExecution({ id: 'ex_one', status: 'workflow_running', eventCount: 30 }),
          ...FANOUT_IDS.map((id) => makeExecution({ id, status: 'workflow_succeeded' })),
        ],
      },
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  describe('per-request loading', () => {
    it('fetches one id once however many times and places it is selected', async () => {
      const aliases = Array.from({ length: 10 }, (_, i) => `a${i}: execution(id: "ex_one") { id status }`).join('\n');
      const response = await harness.query(`{
        ${aliases}
        list: executions(ids: ["ex_one", "ex_one", "ex_one"]) { id }
        page: execution(id: "ex_one") {
          events(first: 30) { nodes { execution { id events(first: 1) { nodes { execution { id } } } } } }
        }
      }`);
      expect(response.errors).toBeUndefined();
      expect(Object.keys(response.data!)).toHaveLength(12);
      expect(harness.upstream.requestsFor('ex_one')).toHaveLength(1);
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it('does not share loaded executions between requests', async () => {
      await harness.query(`{ execution(id: "ex_one") { id } }`);
      await harness.query(`{ execution(id: "ex_one") { id } }`);
      expect(harness.upstream.requestsFor('ex_one')).toHaveLength(2);
    });

    it('fetches distinct ids in parallel, at most 10 at a time', async () => {
      // 300 ms, not 50: the tenth call must reach upstream before the first is answered, and on a loaded machine the
      // ten new connections took longer than 50 ms to arrive (the gateway and upstream share this process).
      harness.upstream.latencyMs = 300;
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      const started = performance.now();
      const response = await harness.query<{ executions: Array<{ id: string } | null> }>(
        `query($ids: [ID!]!) { executions(ids: $ids) { id } }`,
        { ids: FANOUT_IDS },
      );
      const elapsed = performance.now() - started;
      expect(response.errors).toBeUndefined();
      expect(response.data!.executions.map((execution) => execution?.id)).toEqual(FANOUT_IDS);
      expect(harness.upstream.requests).toHaveLength(20);
      expect(harness.upstream.maxInFlight).toBe(10);
      // Two waves of 300 ms; serial would take at least 20 × 300 = 6,000 ms, and one at a time past ten 3,300 ms.
      expect(elapsed).toBeLessThan(3_000);
      // 20 executions listening to one request's signal is normal, not a leak to warn about.
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
    });

    it('forwards the Authorization header as is, an x-request-id, and nothing else of the client', async () => {
      await harness.query(`{ execution(id: "ex_one") { id } }`, undefined, {
        headers: { cookie: 'session=secret', 'x-forwarded-for': '10.0.0.1', 'x-custom': 'nope', 'x-request-id': 'trace-123' },
      });
      const [request] = harness.upstream.requests;
      expect(request!.headers.authorization).toBe('Bearer demo-token');
      expect(request!.headers['x-request-id']).toBe('trace-123');
      expect(request!.headers.cookie).toBeUndefined();
      expect(request!.headers['x-forwarded-for']).toBeUndefined();
      expect(request!.headers['x-custom']).toBeUndefined();
    });

    it('generates an x-request-id when the client sends none (or an unusable one) and returns it', async () => {
      const generated = await harness.query(`{ execution(id: "ex_one") { id } }`);
      const unusable = await harness.query(`{ execution(id: "ex_one") { id } }`, undefined, {
        headers: { 'x-request-id': 'has spaces and\ttabs' },
      });
      const [first, second] = harness.upstream.requests;
      expect(first!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(generated.headers.get('x-request-id')).toBe(first!.headers['x-request-id']);
      expect(second!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(unusable.headers.get('x-request-id')).toBe(second!.headers['x-request-id']);
      expect(first!.headers['x-request-id']).not.toBe(second!.headers['x-request-id']);
    });
  });
});
