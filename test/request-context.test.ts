/**
 * The context each request is given (src/request/context.ts), made from what the edge hands Yoga: its
 * scope's request id, caller, trace headers and limits, and how it learns that its client went away, from
 * node's response (HTTP) or from the request's signal (a request with no response: `yoga.fetch`, WebSocket
 * operations). Through the edge, these are held by test/resilience.test.ts ("clients that leave"),
 * test/security.test.ts (request ids) and test/tracing.test.ts; here each rule on its own.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createContext, type ContextDependencies, type RequestSource } from '../src/request/context.js';
import { markCutByShutdown, type GoneCause } from '../src/request/shutdown-cut.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const MAX_SERVED = 5_000;
const BUDGET_MS = 300;

/** What the context is made from; nothing a test here reaches is called. */
const deps = {
  executions: {},
  concurrencyPerRequest: 4,
  requestBudgetMs: BUDGET_MS,
  maxServedChars: MAX_SERVED,
  statuses: {},
  warningLog: { observe: () => undefined },
  live: {},
} as unknown as ContextDependencies;

/** node's response as the context reads it: `destroyed`, `writableFinished` and its 'close' event. */
class TestResponse extends EventEmitter {
  destroyed = false;
  writableFinished = false;
  close({ finished }: { finished: boolean }): void {
    this.destroyed = true;
    this.writableFinished = finished;
    this.emit('close');
  }
}

function source(headers: Record<string, string>, rest: Partial<RequestSource> = {}): RequestSource {
  return { request: { headers: new Headers(headers), signal: new AbortController().signal }, ...rest };
}

/** The causes the scope's client watch reports, and its unsubscribe. */
function gone(context: ReturnType<typeof createContext>) {
  const causes: GoneCause[] = [];
  const unsubscribe = context.scope.onClientGone((cause) => causes.push(cause));
  return { causes, unsubscribe };
}

afterEach(() => vi.useRealTimers());

describe('the request id', () => {
  it("is the edge's when it gave one, else the client's when usable, else a fresh one", () => {
    expect(createContext(source({ 'x-request-id': 'client-id' }, { requestId: 'edge-id' }), deps).scope.requestId).toBe('edge-id');
    expect(createContext(source({ 'x-request-id': 'client-id' }), deps).scope.requestId).toBe('client-id');
    expect(createContext(source({}), deps).scope.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the caller', () => {
  it('is named by a non-empty Authorization, and by none otherwise', () => {
    expect(createContext(source({ authorization: 'Bearer t' }), deps).scope.caller?.authorization).toBe('Bearer t');
    expect(createContext(source({}), deps).scope.caller).toBeNull();
    expect(createContext(source({ authorization: ' ' }), deps).scope.caller).toBeNull();
  });
});

describe('trace headers and the edge', () => {
  it("forwards a traceparent with its tracestate, and hands on the edge's upstream-reading callback", () => {
    const onUpstreamReading = () => undefined;
    const context = createContext(source({ traceparent: TRACEPARENT, tracestate: 'vendor=1' }, { onUpstreamReading }), deps);
    expect(context.scope.traceHeaders).toEqual({ traceparent: TRACEPARENT, tracestate: 'vendor=1' });
    expect(context.scope.onUpstreamReading).toBe(onUpstreamReading);
    expect(createContext(source({}), deps).scope.traceHeaders).toBeUndefined();
  });
});

describe("the scope's limits", () => {
  it('are the configured budget and bound of long values', () => {
    vi.useFakeTimers();
    const { scope } = createContext(source({}), deps);
    expect(() => scope.handOut(MAX_SERVED)).not.toThrow();
    expect(() => scope.handOut(1_024)).toThrow();
    const cancellation = scope.cancellation;
    vi.advanceTimersByTime(BUDGET_MS);
    expect(cancellation.reason).toMatchObject({ name: 'TimeoutError', budgetMs: BUDGET_MS });
  });
});

describe('a client going away, told by the response (HTTP)', () => {
  it('is told once its response closes unfinished, and not after the listener unsubscribed', () => {
    const res = new TestResponse();
    const first = gone(createContext(source({}, { res }), deps));
    const second = gone(createContext(source({}, { res }), deps));
    second.unsubscribe();
    res.close({ finished: false });
    expect(first.causes).toEqual(['left']);
    expect(second.causes).toEqual([]);
  });

  it('is no leaving when the response was sent whole', () => {
    const res = new TestResponse();
    const { causes } = gone(createContext(source({}, { res }), deps));
    res.close({ finished: true });
    expect(causes).toEqual([]);
  });

  it('is told at once when the response had closed already, and says the drain cut it when it did', () => {
    const left = new TestResponse();
    left.close({ finished: false });
    expect(gone(createContext(source({}, { res: left }), deps)).causes).toEqual(['left']);
    const cut = new TestResponse();
    markCutByShutdown(cut, false);
    const watched = gone(createContext(source({}, { res: cut }), deps));
    cut.close({ finished: false });
    expect(watched.causes).toEqual(['shutdown']);
    expect(gone(createContext(source({}, { res: cut }), deps)).causes).toEqual(['shutdown']);
    const sent = new TestResponse();
    sent.close({ finished: true });
    expect(gone(createContext(source({}, { res: sent }), deps)).causes).toEqual([]);
  });
});

describe('a client going away, told by the signal (no response)', () => {
  it('is told when the signal aborts, at once when it had, and not after the listener unsubscribed', () => {
    const controller = new AbortController();
    const request = { headers: new Headers(), signal: controller.signal };
    const watched = gone(createContext({ request }, deps));
    const unsubscribed = gone(createContext({ request }, deps));
    unsubscribed.unsubscribe();
    controller.abort();
    expect(watched.causes).toEqual(['left']);
    expect(unsubscribed.causes).toEqual([]);
    expect(gone(createContext({ request }, deps)).causes).toEqual(['left']);
  });
});
