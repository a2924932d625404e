/**
 * Plugins that steer an operation, not only watch it, get the same answer on
 * both lanes: the fast lane runs Yoga's operation step and envelop's parse,
 * validate and execute steps itself (src/fast-lane/operation-runner.ts,
 * document-steps.ts), so each way a hook can answer, replace, stop or fail is
 * checked against Yoga's and envelop's own behaviour on the full lane, and
 * against what it should be, with the upstream calls each lane made. The
 * context step, which envelop runs on both lanes, is held to the same, so that
 * any lane that takes it over later has to keep it.
 */
import { getDocumentString } from '@envelop/core';
import { GraphQLError, parse, print, type ExecutionResult, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';
import { closeLaneHarnesses, HOOKED_ID as ID, HOOKED_QUERY as QUERY, onBothLanes as answersOnBothLanes, type LaneAnswer } from './support/lane-answers.js';

const SERVED = { execution: { id: ID, status: 'WORKFLOW_SUCCEEDED' } };

afterEach(closeLaneHarnesses);

/** The answer, equal on both lanes. */
async function onBothLanes(make: () => Plugin[]): Promise<LaneAnswer> {
  return (await answersOnBothLanes(make)).fast;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('plugins that steer the operation, on both lanes', () => {
  it('onParams setResult answers without executing', async () => {
    const got = await onBothLanes(() => [{ onParams: ({ setResult }) => setResult({ data: { execution: null } }) }]);
    expect(got).toMatchObject({ status: 200, body: { data: { execution: null } }, upstreamCalls: 0 });
  });

  it('onParams setParamsHandler wraps the default handler, which still executes', async () => {
    const got = await onBothLanes(() => [
      {
        onParams: ({ paramsHandler, setParamsHandler }) =>
          setParamsHandler(async (payload) => {
            const result = (await paramsHandler(payload)) as ExecutionResult;
            return { ...result, extensions: { ...result.extensions, wrapped: true } };
          }),
      },
    ]);
    expect(got).toMatchObject({ status: 200, body: { data: SERVED, extensions: { wrapped: true } }, upstreamCalls: 1 });
  });

  it('onParams setParams replaces the params that later hooks and the handler see; each hook gets fetchAPI', async () => {
    const idOnly = `{ execution(id: "${ID}") { id } }`;
    const seen: unknown[][] = [];
    const got = await onBothLanes(() => {
      const lane: unknown[] = [];
      seen.push(lane);
      return [
        {
          onParams: ({ params, setParams, fetchAPI }) => {
            lane.push(typeof fetchAPI.Response);
            setParams({ ...params, query: idOnly });
          },
        },
        { onParams: ({ params }) => void lane.push(params.query) },
      ];
    });
    expect(got).toMatchObject({ status: 200, upstreamCalls: 1 });
    expect(got.body.data).toEqual({ execution: { id: ID } });
    expect(seen).toEqual([
      ['function', idOnly],
      ['function', idOnly],
    ]);
  });

  it('onExecutionResult hooks see the result an earlier one set', async () => {
    const got = await onBothLanes(() => [
      { onExecutionResult: ({ result, setResult }) => setResult({ ...(result as ExecutionResult), extensions: { first: true } }) },
      {
        onExecutionResult: ({ result, setResult }) => {
          const single = result as ExecutionResult;
          setResult({ ...single, extensions: { ...single.extensions, secondSaw: single.extensions?.['first'] ?? 'nothing' } });
        },
      },
    ]);
    expect(got).toMatchObject({ status: 200, body: { data: SERVED, extensions: { first: true, secondSaw: true } }, upstreamCalls: 1 });
  });

  it('an operation that fails is a result with its errors, which the onExecutionResult hooks see and may replace', async () => {
    for (const onExecute of [
      () => {
        throw new Error('secret detail');
      },
      async () => {
        await tick();
        throw new Error('secret detail');
      },
    ] as NonNullable<Plugin['onExecute']>[]) {
      const got = await onBothLanes(() => [
        {
          onExecute,
          onExecutionResult: ({ result, setResult }) => {
            const single = result as ExecutionResult;
            setResult({ ...single, extensions: { sawErrors: single.errors?.map((error) => error.extensions?.['code']) } });
          },
        },
      ]);
      expect(got).toMatchObject({ body: { extensions: { sawErrors: ['INTERNAL_SERVER_ERROR'] } }, upstreamCalls: 0 });
      expect(JSON.stringify(got.body)).not.toMatch(/secret detail/);
    }
  });

  it('onExecute extendContext reaches later onExecute hooks and the execute function', async () => {
    const got = await onBothLanes(() => [
      { onExecute: ({ extendContext }) => extendContext({ stamped: 'yes' } as object) },
      {
        onExecute: ({ args, setExecuteFn }) => {
          const seenByHook = (args.contextValue as unknown as Record<string, unknown>)['stamped'];
          setExecuteFn((executeArgs) => ({ data: { execution: null }, extensions: { seenByHook, seenByExecute: (executeArgs.contextValue as Record<string, unknown>)['stamped'] } }));
        },
      },
    ]);
    expect(got).toMatchObject({ status: 200, body: { data: { execution: null }, extensions: { seenByHook: 'yes', seenByExecute: 'yes' } }, upstreamCalls: 0 });
  });

  it("a streamed result passes each onExecuteDone's onNext, which may replace each item, and ends with its onEnd", async () => {
    const answers: { items: unknown[]; ended: number }[] = [];
    for (const lane of LANES) {
      const state = { ended: 0 };
      const plugins: Plugin[] = [
        {
          onExecute: ({ setExecuteFn }) =>
            setExecuteFn(async function* () {
              yield { data: { execution: null }, hasNext: true };
              yield { data: { execution: null }, hasNext: false };
            } as never),
        },
        {
          onExecute: () => ({
            onExecuteDone: () => ({
              onNext: ({ result, setResult }: { result: ExecutionResult; setResult(next: ExecutionResult): void }) => setResult({ ...result, extensions: { seen: true } }),
              onEnd: () => void (state.ended += 1),
            }),
          }),
        },
      ];
      const harness = await Harness.start({ lane, plugins });
      try {
        const response = await harness.fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
          body: JSON.stringify({ query: QUERY }),
        });
        expect(response.status, lane).toBe(200);
        const text = await response.text();
        const items = text.split('\n').filter((line) => line.startsWith('data: {')).map((line) => JSON.parse(line.slice('data: '.length)) as unknown);
        answers.push({ items, ended: state.ended });
      } finally {
        await harness.close();
      }
    }
    const item = { data: { execution: null }, extensions: { seen: true } };
    expect(answers[0]).toEqual({ items: [{ ...item, hasNext: true }, { ...item, hasNext: false }], ended: 1 });
    expect(answers[1]).toEqual(answers[0]);
  });

  it('onExecute setResultAndStopExecution ends the walk: later onExecute hooks do not run, onExecuteDone of earlier ones do', async () => {
    const seen: Record<string, number>[] = [];
    const got = await onBothLanes(() => {
      const counts: Record<string, number> = { before: 0, beforeDone: 0, after: 0 };
      seen.push(counts);
      return [
        { onExecute: () => ((counts.before! += 1), { onExecuteDone: () => void (counts.beforeDone! += 1) }) },
        { onExecute: ({ setResultAndStopExecution }) => setResultAndStopExecution({ data: { execution: null } }) },
        { onExecute: () => void (counts.after! += 1) },
      ];
    });
    expect(got).toMatchObject({ status: 200, body: { data: { execution: null } }, upstreamCalls: 0 });
    expect(seen).toEqual([
      { before: 1, beforeDone: 1, after: 0 },
      { before: 1, beforeDone: 1, after: 0 },
    ]);
  });

  it('asynchronous onExecute and onExecuteDone hooks are waited for, and onExecuteDone replaces the result', async () => {
    const got = await onBothLanes(() => [
      {
        onExecute: async ({ extendContext }) => {
          await tick();
          extendContext({ stamped: 'yes' } as object);
          return {
            onExecuteDone: async ({ result, setResult }) => {
              await tick();
              const single = result as ExecutionResult;
              setResult({ ...single, extensions: { ...single.extensions, afterDone: true } });
            },
          };
        },
      },
    ]);
    expect(got).toMatchObject({ status: 200, body: { data: SERVED, extensions: { afterDone: true } }, upstreamCalls: 1 });
  });

  it('onExecute setExecuteFn replaces the engine for this operation', async () => {
    const got = await onBothLanes(() => [{ onExecute: ({ setExecuteFn }) => setExecuteFn(() => ({ data: { execution: null }, extensions: { engine: 'mine' } })) }]);
    expect(got).toMatchObject({ status: 200, body: { data: { execution: null }, extensions: { engine: 'mine' } }, upstreamCalls: 0 });
  });

  it('onExecutionResult setResult replaces what was executed', async () => {
    const got = await onBothLanes(() => [
      { onExecutionResult: ({ result, setResult }) => setResult({ ...(result as ExecutionResult), extensions: { replaced: true } }) },
    ]);
    expect(got).toMatchObject({ status: 200, body: { data: SERVED, extensions: { replaced: true } }, upstreamCalls: 1 });
  });

  it('a setter kept for later acts as in Yoga and envelop: an onParams setResult misses the onExecutionResult walk, an earlier hook\'s stop does not stop a later hook\'s step', async () => {
    const kept = await onBothLanes(() => {
      let setResult: ((result: unknown) => void) | undefined;
      return [
        {
          onParams: (payload) => {
            setResult = payload.setResult as (result: unknown) => void;
          },
          onExecutionResult: () => setResult!({ data: { execution: null }, extensions: { kept: true } }),
        },
      ];
    });
    expect(kept).toMatchObject({ status: 200, body: { data: SERVED }, upstreamCalls: 1 });
    expect(kept.body.extensions).not.toHaveProperty('kept');

    const thirdRan: number[] = [];
    const stopped = await onBothLanes(() => {
      let stop: ((result: unknown) => void) | undefined;
      const counts = { third: 0 };
      thirdRan.push(0);
      const lane = thirdRan.length - 1;
      return [
        {
          onExecute: (payload) => {
            stop = payload.setResultAndStopExecution as (result: unknown) => void;
          },
        },
        { onExecute: () => stop!({ data: { execution: null } }) },
        { onExecute: () => void (thirdRan[lane] = counts.third += 1) },
      ];
    });
    expect(stopped).toMatchObject({ status: 200, body: { data: { execution: null } }, upstreamCalls: 0 });
    expect(thirdRan).toEqual([1, 1]);
  });

  it('a params handler and an execute function set by a hook are called without a `this`', async () => {
    for (const plugin of [
      {
        onParams: ({ setParamsHandler }) =>
          setParamsHandler(function (this: unknown) {
            return { data: { execution: null }, extensions: { self: String(this) } };
          }),
      },
      {
        onExecute: ({ setExecuteFn }) =>
          setExecuteFn(function (this: unknown) {
            return { data: { execution: null }, extensions: { self: String(this) } };
          }),
      },
    ] as Plugin[]) {
      const got = await onBothLanes(() => [plugin]);
      expect(got.body).toMatchObject({ data: { execution: null }, extensions: { self: 'undefined' } });
    }
  });

  it('an execute instrumentation gets the payload object envelop gave the same request\'s init', async () => {
    const got = await onBothLanes(() => {
      const initPayloads = new WeakSet<object>();
      const seen: boolean[] = [];
      return [
        {
          instrumentation: {
            init: (payload: object, wrapped: () => void) => {
              initPayloads.add(payload);
              wrapped();
            },
            execute: (payload: object, wrapped: () => unknown) => {
              seen.push(initPayloads.has(payload));
              return wrapped();
            },
          },
          onExecutionResult: ({ result, setResult }) => setResult({ ...(result as ExecutionResult), extensions: { samePayload: seen } }),
        } as Plugin,
      ];
    });
    expect(got).toMatchObject({ status: 200, body: { data: SERVED, extensions: { samePayload: [true] } }, upstreamCalls: 1 });
  });

  it('an onExecute hook that throws, or extends the context with a non-object, is a masked error, never a crash', async () => {
    for (const hook of [
      (() => {
        throw new Error('secret detail');
      }) as NonNullable<Plugin['onExecute']>,
      (({ extendContext }) => extendContext('text' as unknown as object)) as NonNullable<Plugin['onExecute']>,
      (async () => {
        await tick();
        throw new Error('secret detail');
      }) as NonNullable<Plugin['onExecute']>,
    ]) {
      const got = await onBothLanes(() => [{ onExecute: hook }]);
      expect(got.upstreamCalls).toBe(0);
      expect(got.body.data).toBeUndefined();
      expect(got.body.errors).toHaveLength(1);
      expect(JSON.stringify(got.body)).not.toMatch(/secret detail|Invalid context extension/);
      expect(got.body.errors![0]!.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    }
  });

  it('onParse setParsedDocument and setParseFn replace the document, an after-callback replaceParseResult replaces a parse failure, and one not replaced is the answer', async () => {
    const idOnly = parse(`{ execution(id: "${ID}") { id } }`);
    const set = await onBothLanes(() => [{ onParse: ({ setParsedDocument }) => setParsedDocument(idOnly) }]);
    expect(set).toMatchObject({ status: 200, body: { data: { execution: { id: ID } } }, upstreamCalls: 1 });

    const fn = await onBothLanes(() => [{ onParse: ({ setParseFn }) => setParseFn(() => idOnly) }]);
    expect(fn).toMatchObject({ status: 200, body: { data: { execution: { id: ID } } }, upstreamCalls: 1 });

    const seen: string[] = [];
    const replaced = await onBothLanes(() => [
      {
        onParse: ({ setParseFn }) => {
          setParseFn(() => {
            throw new GraphQLError('Syntax Error: planted');
          });
          return ({ result, replaceParseResult }) => {
            seen.push(result instanceof Error ? result.message : 'a document');
            replaceParseResult(idOnly);
          };
        },
      },
    ]);
    expect(replaced).toMatchObject({ status: 200, body: { data: { execution: { id: ID } } }, upstreamCalls: 1 });
    expect(seen).toEqual(['Syntax Error: planted', 'Syntax Error: planted']);

    const failed = await onBothLanes(() => [
      {
        onParse: ({ setParseFn }) =>
          setParseFn(() => {
            throw new GraphQLError('Syntax Error: planted');
          }),
      },
    ]);
    expect(failed).toMatchObject({ upstreamCalls: 0, body: { errors: [{ message: 'Syntax Error: planted' }] } });
    expect(failed.body.data).toBeUndefined();
  });

  it('the parsed document keeps its source for getDocumentString, and onParse and onValidate extendContext reach the operation', async () => {
    const got = await onBothLanes(() => [
      {
        onParse: ({ extendContext }) => extendContext({ parsedBy: 'onParse' } as object),
        onValidate: ({ extendContext }) => extendContext({ validatedBy: 'onValidate' } as object),
        onExecute: ({ args, setResultAndStopExecution }) => {
          const context = args.contextValue as unknown as Record<string, unknown>;
          setResultAndStopExecution({
            data: { execution: null },
            extensions: { source: getDocumentString(args.document, print), parsedBy: context['parsedBy'], validatedBy: context['validatedBy'] },
          });
        },
      },
    ]);
    expect(got.body.extensions).toMatchObject({ source: QUERY, parsedBy: 'onParse', validatedBy: 'onValidate' });
  });

  it('onValidate addValidationRule, setValidationFn and setResult, and an after-callback that sees `valid` and replaces the result', async () => {
    const refuseExecution = (context: ValidationContext) => ({
      Field(node: { name: { value: string } }) {
        if (node.name.value === 'execution') context.reportError(new GraphQLError('planted rule'));
      },
    });
    const rulesSeen: (number | undefined)[] = [];
    const ruled = await onBothLanes(() => [
      { onValidate: ({ addValidationRule }) => addValidationRule(refuseExecution) },
      { onValidate: ({ params }) => void rulesSeen.push(params.rules?.length) },
    ]);
    expect(ruled.upstreamCalls).toBe(0);
    expect(ruled.body.errors?.map((error) => error.message)).toContain('planted rule');
    // Yoga's engine adds graphql-js's specified rules first; the planted one comes after them.
    expect(rulesSeen[0]).toBeGreaterThan(1);
    expect(rulesSeen).toEqual([rulesSeen[0], rulesSeen[0]]);

    const calls: number[] = [];
    const skipped = await onBothLanes(() => {
      calls.push(0);
      const lane = calls.length - 1;
      return [{ onValidate: ({ setValidationFn }) => setValidationFn(() => ((calls[lane]! += 1), [])) }];
    });
    expect(skipped).toMatchObject({ status: 200, body: { data: SERVED }, upstreamCalls: 1 });
    expect(calls).toEqual([1, 1]);

    const valid: boolean[] = [];
    const replaced = await onBothLanes(() => [
      {
        onValidate: () => ({ valid: isValid, setResult }) => {
          valid.push(isValid);
          setResult([new GraphQLError('replaced after validation')]);
        },
      },
    ]);
    expect(valid).toEqual([true, true]);
    expect(replaced.upstreamCalls).toBe(0);
    expect(replaced.body.errors?.map((error) => error.message)).toEqual(['replaced after validation']);

    const preset = await onBothLanes(() => [{ onValidate: ({ setResult }) => setResult([new GraphQLError('set before validation')]) }]);
    expect(preset.body.errors?.map((error) => error.message)).toEqual(['set before validation']);
  });

  it('an onParse or onValidate hook that throws is a masked error, never a crash', async () => {
    for (const plugin of [
      {
        onParse: () => {
          throw new Error('secret detail');
        },
      },
      {
        onValidate: () => {
          throw new Error('secret detail');
        },
      },
      { onValidate: ({ setValidationFn }) => setValidationFn((() => undefined) as never) },
    ] as Plugin[]) {
      const got = await onBothLanes(() => [plugin]);
      expect(got.upstreamCalls).toBe(0);
      expect(got.body.data).toBeUndefined();
      expect(JSON.stringify(got.body)).not.toMatch(/secret detail/);
      expect(got.body.errors![0]!.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    }
  });

  it('a hook that is truthy but not a function is called and fails the request on both lanes, as Yoga and envelop take hooks', async () => {
    // onExecutionResult fails once the operation has run.
    // onBothLanes compares the logged TypeErrors too, whose messages name the walk's variable.
    for (const [name, upstreamCalls] of [['onParse', 0], ['onValidate', 0], ['onExecute', 0], ['onParams', 0], ['onExecutionResult', 1]] as const) {
      const got = await onBothLanes(() => [{ [name]: { enabled: true } } as unknown as Plugin]);
      expect(got.upstreamCalls, name).toBe(upstreamCalls);
      expect(got.body.errors?.[0]?.extensions?.['code'], name).toBe('INTERNAL_SERVER_ERROR');
      expect(got.logged.join(), name).toMatch(/is not a function/);
    }
    // Yoga's and @whatwg-node/server's HTTP steps: the same answer, whatever it is, and the same log.
    for (const name of ['onRequest', 'onRequestParse', 'onResultProcess', 'onResponse']) {
      const got = await onBothLanes(() => [{ [name]: { enabled: true } } as unknown as Plugin]);
      expect(got.status, name).toBeGreaterThanOrEqual(400);
    }
    const afterCallbacks = await onBothLanes(() => [{ onExecute: () => ({ onExecuteDone: { enabled: true } }) } as unknown as Plugin]);
    expect(afterCallbacks.logged.join()).toMatch(/afterCb.onExecuteDone is not a function/);
  });

  it('a hook a plugin sets in its onYogaInit runs where Yoga runs it (onParams) and not where envelop took its lists before (onValidate, onExecute)', async () => {
    const got = await onBothLanes(() => [
      {
        onYogaInit(this: Plugin) {
          this.onValidate = ({ setResult }) => setResult([new GraphQLError('set by an onValidate added in onYogaInit')]);
          this.onExecute = ({ setResultAndStopExecution }) => setResultAndStopExecution({ data: { execution: null } });
          this.onParams = ({ params, setParams }) => setParams({ ...params, extensions: { seenBy: 'onParams' } });
        },
        onExecutionResult: ({ request, result, setResult }) => void [request, result, setResult],
      } as Plugin,
    ]);
    expect(got).toMatchObject({ status: 200, body: { data: SERVED }, upstreamCalls: 1 });
  });

  it('an instrumentation a plugin drops or adds in onYogaInit wraps parse, validate and execute as envelop took it', async () => {
    const wrapping = (wrapped: string[]) => ({
      parse: (_payload: object, step: () => void) => void (wrapped.push('parse'), step()),
      validate: (_payload: object, step: () => void) => void (wrapped.push('validate'), step()),
      execute: (_payload: object, step: () => unknown) => (wrapped.push('execute'), step()),
    });
    for (const [change, expected] of [
      ['dropped', ['parse', 'validate', 'execute']],
      ['added', []],
    ] as const) {
      const seen: string[][] = [];
      await onBothLanes(() => {
        const wrapped: string[] = [];
        seen.push(wrapped);
        const plugin = {
          ...(change === 'dropped' ? { instrumentation: wrapping(wrapped) } : {}),
          onYogaInit(this: Plugin) {
            if (change === 'dropped') delete (this as { instrumentation?: unknown }).instrumentation;
            else (this as { instrumentation?: unknown }).instrumentation = wrapping(wrapped);
          },
        };
        return [plugin as Plugin];
      });
      expect(seen, change).toEqual([expected, expected]);
    }
  });

  it('an onParse that returns a promise fails with the message envelop\'s own step logs', async () => {
    // onBothLanes compares the logged error messages too.
    const got = await onBothLanes(() => [{ onParse: (async () => undefined) as unknown as Plugin['onParse'] }]);
    expect(got.body.errors?.[0]?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    expect(got.logged).toContain('afterCb is not a function');
  });

  it('onContextBuilding extendContext, synchronous or not, and its callbacks reach the operation, in order', async () => {
    const got = await onBothLanes(() => {
      const order: string[] = [];
      return [
        {
          onContextBuilding: ({ extendContext }) => {
            order.push('first');
            extendContext({ fromFirst: 1 } as object);
            return ({ extendContext: extendAfter }) => {
              order.push('first done');
              extendAfter({ fromFirstDone: 1 } as object);
            };
          },
        },
        {
          onContextBuilding: async ({ extendContext }) => {
            await tick();
            order.push('second');
            extendContext({ fromSecond: 1 } as object);
            return async () => {
              await tick();
              order.push('second done');
            };
          },
        },
        {
          onExecute: ({ args, setResultAndStopExecution }) => {
            const context = args.contextValue as unknown as Record<string, unknown>;
            const seen = ['fromFirst', 'fromFirstDone', 'fromSecond'].filter((key) => context[key] === 1);
            setResultAndStopExecution({ data: { execution: null }, extensions: { seen, order } });
          },
        },
      ];
    });
    expect(got.body.extensions).toMatchObject({ seen: ['fromFirst', 'fromFirstDone', 'fromSecond'], order: ['first', 'second', 'first done', 'second done'] });
  });

  it('breakContextBuilding stops later context hooks and skips every callback; kept for later, it skips the callbacks only', async () => {
    const ran: Record<string, number>[] = [];
    const counting = (broken: (counts: Record<string, number>) => Plugin[]) => () => {
      const counts: Record<string, number> = { firstDone: 0, later: 0 };
      ran.push(counts);
      return [
        { onContextBuilding: () => () => void (counts.firstDone! += 1) },
        ...broken(counts),
        { onContextBuilding: () => void (counts.later! += 1) },
      ];
    };
    await onBothLanes(counting(() => [{ onContextBuilding: ({ breakContextBuilding }) => breakContextBuilding() }]));
    expect(ran).toEqual([
      { firstDone: 0, later: 0 },
      { firstDone: 0, later: 0 },
    ]);

    ran.length = 0;
    await onBothLanes(
      counting(() => {
        let kept: (() => void) | undefined;
        return [{ onContextBuilding: ({ breakContextBuilding }) => void (kept = breakContextBuilding) }, { onContextBuilding: () => kept!() }];
      }),
    );
    expect(ran).toEqual([
      { firstDone: 0, later: 1 },
      { firstDone: 0, later: 1 },
    ]);
  });

  it("a context hook's failure reaches the context error handlers on the same context, which may replace it; a callback's failure does not", async () => {
    const handled: unknown[][] = [];
    const withHandler = (hook: Plugin['onContextBuilding']) => (): Plugin[] => {
      const seen: unknown[] = [];
      handled.push(seen);
      return [
        {
          onPluginInit: ({ registerContextErrorHandler }) =>
            registerContextErrorHandler(({ context, error, setError }) => {
              seen.push([(error as Error).message, (context as Record<string, unknown>)['marked']]);
              setError(new GraphQLError('replaced by a context error handler', { extensions: { code: 'CONTEXT_REFUSED' } }));
            }),
        } as Plugin,
        { onContextBuilding: ({ extendContext }) => extendContext({ marked: 'same context' } as object) },
        { onContextBuilding: hook },
      ];
    };
    for (const hook of [
      () => {
        throw new Error('thrown');
      },
      async () => {
        await tick();
        throw new Error('thrown');
      },
    ] as Plugin['onContextBuilding'][]) {
      handled.length = 0;
      const got = await onBothLanes(withHandler(hook));
      expect(got.upstreamCalls).toBe(0);
      expect(got.body.errors?.map((error) => [error.message, error.extensions?.['code']])).toEqual([['replaced by a context error handler', 'CONTEXT_REFUSED']]);
      expect(handled).toEqual([[['thrown', 'same context']], [['thrown', 'same context']]]);
    }

    handled.length = 0;
    const callbackFailed = await onBothLanes(
      withHandler(() => () => {
        throw new Error('secret detail');
      }),
    );
    expect(handled).toEqual([[], []]);
    expect(JSON.stringify(callbackFailed.body)).not.toMatch(/secret detail/);
    expect(callbackFailed.body.errors?.[0]?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
  });

  it('a context instrumentation wraps the same context step on both lanes', async () => {
    const got = await onBothLanes(() => {
      const wrapped: string[] = [];
      return [
        {
          instrumentation: {
            context: (_payload: object, step: () => void) => {
              wrapped.push('context');
              step();
            },
          },
          onContextBuilding: ({ extendContext }) => extendContext({ built: true } as object),
          onExecutionResult: ({ result, setResult }) => setResult({ ...(result as ExecutionResult), extensions: { wrapped } }),
        } as Plugin,
      ];
    });
    expect(got).toMatchObject({ status: 200, body: { data: SERVED, extensions: { wrapped: ['context'] } }, upstreamCalls: 1 });
  });
});
