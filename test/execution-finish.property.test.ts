/**
 * The finish step (src/pipeline/execution-finish.ts) writes a result with its
 * `extensions` out as a literal rather than spreading it. fast-check checks that
 * this is the result the spread made, for any result an executor or a plugin may
 * hand it: the same keys in the same order (a response's text follows that
 * order), the same values, and the cost report and warnings where they were.
 * Beside it, cases of the step's other work: the notes it counts past the
 * cap, the request's scope it releases, and a live subscription's updates.
 */
import fc from 'fast-check';
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { describe, expect, it, vi } from 'vitest';
import { useExecutionFinish } from '../src/pipeline/execution-finish.js';
import { MAX_OMITTED_PATHS_CHECKED, MAX_WARNINGS_PER_RESULT, RequestScope } from '../src/request/scope.js';

const noWatch = { onClientGone: () => () => {} };
const noLog = { observe: () => {} };

/** A scope that cost what `cost` says, with `warned` notes. */
function scopeWith(cost: RequestScope['cost'], warned: number): RequestScope {
  const scope = new RequestScope('req-1', null, noWatch, { budgetMs: 1_000 }, noLog);
  Object.assign(scope.cost, cost);
  for (let i = 0; i < warned; i++) scope.warn('Execution.input', { path: ['execution', 'input'], code: 'UNREADABLE_VALUE', reason: 'test' } as never);
  return scope;
}

/** What the finish step did before: the result spread, its extensions spread, warnings then the cost added. */
function spreadFinish(result: ExecutionResult, scope: RequestScope, reportCost: boolean): ExecutionResult {
  const extensions: Record<string, unknown> = { ...result.extensions };
  if (scope.warnings) extensions.warnings = scope.warnings;
  if (reportCost) {
    const { calls, cacheHits, sharedCalls, timeMs } = scope.cost;
    extensions.upstream = { calls, cacheHits, sharedCalls, timeMs: Math.round(timeMs) };
  }
  return scope.warnings || reportCost ? { ...result, extensions } : result;
}

function finished(result: ExecutionResult, scope: RequestScope, reportCost: boolean): ExecutionResult {
  const plugin = useExecutionFinish({ hideSuggestions: false, reportCost }) as Plugin;
  let out = result;
  const hooks = (plugin.onExecute as (payload: unknown) => { onExecuteDone(payload: unknown): void })({});
  hooks.onExecuteDone({ args: { contextValue: { scope } }, result, setResult: (next: ExecutionResult) => (out = next) });
  return out;
}

/** Results as executors and plugins make them: any of the usual keys, in any order, sometimes another key, sometimes an undefined value. */
const results = fc
  .record(
    {
      data: fc.oneof(fc.constant(null), fc.constant(undefined), fc.record({ execution: fc.record({ id: fc.string(), status: fc.constantFrom('WORKFLOW_RUNNING', 'UNKNOWN') }) })),
      errors: fc.oneof(fc.constant(undefined), fc.array(fc.string().map((message) => new GraphQLError(message)), { minLength: 1, maxLength: 2 })),
      extensions: fc.oneof(fc.constant(undefined), fc.dictionary(fc.constantFrom('trace', 'cost', 'upstream'), fc.integer())),
      hasNext: fc.boolean(),
      label: fc.string(),
    },
    { requiredKeys: [] },
  )
  .chain((fields) =>
    fc.shuffledSubarray(Object.keys(fields), { minLength: Object.keys(fields).length }).map((order) => {
      const result: Record<string, unknown> = {};
      for (const key of order) result[key] = fields[key as keyof typeof fields];
      return result as ExecutionResult;
    }),
  );

const costs = fc.record({ calls: fc.nat(5), cacheHits: fc.nat(5), sharedCalls: fc.nat(5), timeMs: fc.double({ min: 0, max: 1e4, noNaN: true }) });

describe('the finish step', () => {
  it('hands on the result the spread made: the same keys in the same order, the same values', () => {
    fc.assert(
      fc.property(results, costs, fc.nat(2), fc.boolean(), (result, cost, notes, reportCost) => {
        // Notes only where no error could have nulled their values: which notes an error drops is the step's other rule, not this one's.
        const warned = result.errors?.length ? 0 : notes;
        const before = structuredClone({ keys: Object.keys(result), extensions: result.extensions });
        const actual = finished(result, scopeWith(cost, warned), reportCost);
        const expected = spreadFinish(result, scopeWith(cost, warned), reportCost);
        expect(Object.keys(actual)).toEqual(Object.keys(expected));
        expect(Object.keys(actual.extensions ?? {})).toEqual(Object.keys(expected.extensions ?? {}));
        expect(actual).toEqual(expected);
        expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
        // The result it was given is left as it was.
        expect({ keys: Object.keys(result), extensions: result.extensions }).toEqual(before);
      }),
      {
        numRuns: 500,
        // The shapes graphql-js's execute makes (errors first when there are any) and a plugin's reordering of them, each surely met.
        examples: [
          [{ errors: [new GraphQLError('failed')], data: null }, { calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: 1.4 }, 0, true],
          [{ data: { execution: null }, errors: [new GraphQLError('failed')] }, { calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: 1.6 }, 0, true],
          [{ data: { execution: { id: 'ex_1', status: 'UNKNOWN' } } }, { calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: 0 }, 1, false],
        ],
      },
    );
  });

  it('counts in warningsOmitted every note past the cap when no error nulled anything, the unchecked ones too', () => {
    const scope = scopeWith({ calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: 0 }, MAX_WARNINGS_PER_RESULT + MAX_OMITTED_PATHS_CHECKED + 7);
    expect(scope.omittedUnchecked).toBe(7);
    const out = finished({ data: { execution: null } }, scope, false);
    expect(out.extensions).toEqual({ warnings: scope.warnings, warningsOmitted: MAX_OMITTED_PATHS_CHECKED + 7 });
  });

  it("releases the request's scope (its budget timer and client watch) once a result is finished", () => {
    const scope = scopeWith({ calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: 0 }, 0);
    const dispose = vi.spyOn(scope, 'dispose');
    finished({ data: { execution: null } }, scope, true);
    expect(dispose).toHaveBeenCalledTimes(1);
  });
});

describe('the finish step on a live subscription', () => {
  type Step = { onNext(payload: unknown): void; onEnd(): void };
  const subscribed = (scope: RequestScope): Step => {
    const plugin = useExecutionFinish({ hideSuggestions: false, reportCost: true }) as Plugin;
    const hooks = (plugin.onSubscribe as (payload: unknown) => { onSubscribeResult(payload: unknown): Step })({});
    return hooks.onSubscribeResult({ args: { contextValue: { scope } }, result: (async function* () {})(), setResult: () => {} });
  };

  it("gives each update its own notes beside the update's own extensions", () => {
    const scope = scopeWith({ calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: 0 }, 1);
    let out: ExecutionResult | undefined;
    subscribed(scope).onNext({ result: { data: { executionUpdates: null }, extensions: { seq: 3 } }, setResult: (next: ExecutionResult) => (out = next) });
    expect(out?.extensions).toEqual({ seq: 3, warnings: scope.warnings });
  });

  it('releases the scope when the stream ends', () => {
    const scope = scopeWith({ calls: 0, cacheHits: 0, sharedCalls: 0, timeMs: 0 }, 0);
    const dispose = vi.spyOn(scope, 'dispose');
    const step = subscribed(scope);
    expect(dispose).not.toHaveBeenCalled();
    step.onEnd();
    expect(dispose).toHaveBeenCalledTimes(1);
  });
});
