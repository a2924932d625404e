/**
 * One request's scope (src/request/scope.ts) on its own: its caps, what a live update starts over, and its
 * cancellation (the time budget, the client leaving, the drain's cut) with what it releases. The same rules
 * through the HTTP edge are in test/request-limits.test.ts, test/served-size.test.ts and test/resilience.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WarningCode, type DataWarning } from '../src/errors.js';
import type { EventFilter } from '../src/domain/event-pages.js';
import type { GoneCause } from '../src/request/shutdown-cut.js';
import {
  MAX_EVENTS_PER_REQUEST,
  MAX_OMITTED_PATHS_CHECKED,
  MAX_WARNINGS_PER_RESULT,
  RequestScope,
  SERVED_CHARS_COUNTED_FROM,
  type ClientWatch,
} from '../src/request/scope.js';
import { SHUTDOWN_CUT } from '../src/upstream/cancellation.js';

/** A client watch the test makes go away, counting who listens. */
class TestClient implements ClientWatch {
  readonly listeners = new Set<(cause: GoneCause) => void>();
  onClientGone(listener: (cause: GoneCause) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  goAway(cause: GoneCause): void {
    for (const listener of this.listeners) listener(cause);
  }
}

const MAX_SERVED = 10_000;
const observed: unknown[] = [];
function scope(client = new TestClient(), budgetMs = 1_000): RequestScope {
  return new RequestScope('req-1', null, client, { budgetMs, maxServedChars: MAX_SERVED }, { observe: (...args) => void observed.push(args) });
}
const note = (index: number): DataWarning => ({ path: ['execution', 'events', index], code: WarningCode.UNREADABLE_VALUE, message: 'unreadable' });

afterEach(() => {
  vi.useRealTimers();
  observed.length = 0;
});

describe('a live update starts its caps and notes over', () => {
  it(`hands out ${MAX_EVENTS_PER_REQUEST} events per update, not per watch`, () => {
    const each = scope();
    each.takeEvents(MAX_EVENTS_PER_REQUEST);
    expect(() => each.takeEvents(1)).toThrow(/more than 2000 events/);
    each.beginUpdate();
    expect(() => each.takeEvents(MAX_EVENTS_PER_REQUEST)).not.toThrow();
  });

  it('hands out MAX_SERVED characters of long values per update, not per watch', () => {
    const each = scope();
    each.handOut(MAX_SERVED);
    expect(() => each.handOut(SERVED_CHARS_COUNTED_FROM)).toThrow();
    each.beginUpdate();
    expect(() => each.handOut(MAX_SERVED)).not.toThrow();
  });

  it('lists and counts only its own notes, and reports only its own upstream cost', () => {
    const each = scope();
    const past = MAX_WARNINGS_PER_RESULT + MAX_OMITTED_PATHS_CHECKED + 5;
    for (let index = 0; index < past; index++) each.warn('ExecutionEvent.level', note(index));
    expect([each.warnings?.length, each.omittedWarningPaths?.length, each.omittedUnchecked]).toEqual([MAX_WARNINGS_PER_RESULT, MAX_OMITTED_PATHS_CHECKED, 5]);
    // Every note reaches the process's log and counter, past the caps too, with the request it came in.
    expect(observed).toHaveLength(past);
    expect(observed[past - 1]).toEqual(['ExecutionEvent.level', note(past - 1), { requestId: 'req-1' }]);
    Object.assign(each.cost, { calls: 2, cacheHits: 1, sharedCalls: 1, timeMs: 40 });
    each.beginUpdate();
    expect([each.warnings, each.omittedWarningPaths, each.omittedUnchecked]).toEqual([undefined, undefined, 0]);
    expect(each.cost).toEqual({ calls: 0, cacheHits: 0, sharedCalls: 0, timeMs: 0 });
    each.warn('ExecutionEvent.level', note(0));
    expect([each.warnings?.length, each.omittedWarningPaths, each.omittedUnchecked]).toEqual([1, undefined, 0]);
  });
});

describe('long values', () => {
  it(`counts values of ${SERVED_CHARS_COUNTED_FROM} characters and more, and allows exactly the bound`, () => {
    const each = scope();
    for (let i = 0; i < 1_000; i++) each.handOut(SERVED_CHARS_COUNTED_FROM - 1);
    each.handOut(MAX_SERVED - SERVED_CHARS_COUNTED_FROM);
    each.handOut(SERVED_CHARS_COUNTED_FROM);
    expect(() => each.handOut(SERVED_CHARS_COUNTED_FROM)).toThrow();
  });
});

describe('the filter of an events field', () => {
  it("is the first page's object for every later page of the same field, and each field's own", () => {
    const each = scope();
    const [field, other] = [{}, {}];
    const first: EventFilter = { levels: ['ERROR'] };
    expect(each.sameFilter(field, first)).toBe(first);
    expect(each.sameFilter(field, { levels: ['ERROR'] })).toBe(first);
    const second: EventFilter = { levels: ['INFO'] };
    expect(each.sameFilter(other, second)).toBe(second);
  });
});

describe("the request's cancellation", () => {
  it('is made on first use, and fires with a TimeoutError naming the budget once the budget is spent', () => {
    vi.useFakeTimers();
    const each = scope(new TestClient(), 250);
    const cancellation = each.cancellation;
    expect(each.cancellation).toBe(cancellation);
    vi.advanceTimersByTime(249);
    expect(cancellation.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(cancellation.aborted).toBe(true);
    expect(cancellation.reason).toMatchObject({ name: 'TimeoutError', message: 'request budget of 250 ms spent', budgetMs: 250 });
  });

  it.each([
    ['left', 'AbortError'],
    ['shutdown', SHUTDOWN_CUT],
  ] as const)('fires when the client goes away (%s), with a reason that says which', (cause, name) => {
    const client = new TestClient();
    const cancellation = scope(client).cancellation;
    client.goAway(cause);
    expect(cancellation.reason).toMatchObject({ name });
  });

  it('takes as many listeners as a request of 100 executions adds, without a MaxListeners warning', async () => {
    const warned = vi.fn();
    process.on('warning', warned);
    try {
      const cancellation = scope().cancellation;
      for (let i = 0; i < 400; i++) cancellation.onAbort(() => undefined);
      // Node emits the warning on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warned).not.toHaveBeenCalled();
    } finally {
      process.off('warning', warned);
    }
  });

  it('lets go of its timer and of the client once disposed', () => {
    vi.useFakeTimers();
    const client = new TestClient();
    const each = scope(client, 250);
    const cancellation = each.cancellation;
    expect(client.listeners.size).toBe(1);
    each.dispose();
    expect(client.listeners.size).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(cancellation.aborted).toBe(false);
  });
});
