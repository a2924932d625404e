/**
 * The fast lane's operation step: Yoga's `getResultForParams` (onParams, its
 * params handler, onExecutionResult) and the execute step of envelop's
 * orchestrator (onExecute, the execute function, onExecuteDone), called with
 * the same payloads in the same order as graphql-yoga 5.24 and @envelop/core 5
 * call them, but synchronously while hooks answer synchronously.
 *
 * envelop's parse and validate steps run as ./document-steps.ts has them;
 * its init, context and subscribe steps run as they are (`getEnveloped`: the
 * context step's error handlers are registered inside envelop, where only it
 * can reach them). A step a plugin instruments (`parse`, `validate`,
 * `execute`) is envelop's own, since that instrumentation gets the payload
 * object envelop gave the request's other steps, which only envelop holds.
 * Where a hook keeps a setter for later, it acts as it would in Yoga and
 * envelop (an onParams `setResult` does not reach the onExecutionResult walk; a
 * kept `setResultAndStopExecution` stops only its own hook's step), and
 * handlers and execute functions are called without a `this`.
 *
 * Hand-written because Yoga's and envelop's versions make
 * promise-helpers closures and settled promise objects per hook and step even
 * when nothing is asynchronous: for a status poll, more allocation than the
 * rest of the operation (docs/performance.md "The cost of one pipeline").
 */
import { getOperationAST, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import { finalAsyncIterator, isAsyncIterable, isPromise, mapAsyncIterator, type Instrumentation, type Plugin } from 'graphql-yoga';
import { DocumentSteps } from './document-steps.js';
import { handleError, type ErrorHandling } from './handle-error.js';
import type { EnvelopHooks } from './envelop-hooks.js';
import { eachHook, NEVER_ENDS, whenSettled, type Hook, type Payload, type Walk } from './hook-walk.js';

type Context = Record<string, unknown>;
type Result = ExecutionResult | AsyncIterable<ExecutionResult>;
type ExecuteFn = (args: ExecutionArgs) => Result | Promise<Result>;

/** GraphQL-over-HTTP parameters, as a request parser made them. */
interface Params {
  query?: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
}

/** What `getEnveloped(context)` hands back (@envelop/core's create.js). */
export interface Enveloped {
  parse(source: string | undefined): DocumentNode;
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] | undefined;
  contextFactory(): Context | Promise<Context>;
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
  schema: GraphQLSchema;
}

/** What the operation step reads off the Yoga instance. */
export interface OperationInternals extends ErrorHandling {
  plugins: readonly (Plugin | undefined | null | false)[];
  /** Yoga's own lists, taken as Yoga takes them (each plugin's after its onYogaInit). */
  onParamsHooks: Hook<'onParams'>[];
  onExecutionResultHooks: Hook<'onExecutionResult'>[];
  fetchAPI: Payload<'onParams'>['fetchAPI'];
  getEnveloped(context: Context): Enveloped;
  instrumentation?: Instrumentation<Context>;
}

/** The handler of parsed params Yoga's onParams hooks see and may replace. */
type ParamsHandler = (payload: { request: Request; params: Params; context: Context }) => unknown;

/** envelop's engine placeholder until a plugin (Yoga's useEngine) sets the execute function. */
function noEngine(): never {
  throw Error('No `execute` function found! Register it using "useEngine" plugin.');
}

export class OperationRunner {
  readonly #yoga: OperationInternals;
  readonly #onParams: Hook<'onParams'>[];
  readonly #onExecutionResult: Hook<'onExecutionResult'>[];
  readonly #onExecute: Hook<'onExecute'>[];
  readonly #handleParams: ParamsHandler;
  readonly #getEnveloped: OperationInternals['getEnveloped'];
  readonly #documents: DocumentSteps;
  readonly #instruments: EnvelopHooks['instruments'];
  readonly #fetchAPI: OperationInternals['fetchAPI'];
  readonly #logger: OperationInternals['logger'];

  /** `envelop`: envelop's hook lists as envelop took them (./envelop-hooks.ts). */
  constructor(yoga: OperationInternals, envelop: EnvelopHooks) {
    this.#yoga = yoga;
    // Read once: Yoga is a Proxy whose property reads bind a new function each time.
    this.#getEnveloped = yoga.getEnveloped;
    this.#fetchAPI = yoga.fetchAPI;
    this.#logger = yoga.logger;
    this.#onParams = yoga.onParamsHooks;
    this.#onExecutionResult = yoga.onExecutionResultHooks;
    this.#onExecute = envelop.onExecute;
    this.#documents = new DocumentSteps(envelop);
    // envelop's composition, not Yoga's: a plugin may change its instrumentation in onYogaInit, after envelop took it.
    this.#instruments = envelop.instruments;
    this.#handleParams = (payload) => this.#handle(payload);
  }

  /** YogaServer.getResultForParams: onParams hooks, the params handler (or a hook's result), onExecutionResult hooks. */
  resultForParams({ params, request }: { params: unknown; request: Request }, context: Context): unknown {
    const state = {
      params: params as Params,
      paramsHandler: this.#handleParams,
      result: undefined as unknown,
      setParams(next: Params) {
        state.params = next;
      },
      setParamsHandler(next: ParamsHandler) {
        state.paramsHandler = next;
      },
      setResult(next: unknown) {
        state.result = next;
      },
    };
    const fetchAPI = this.#fetchAPI;
    const walked = eachHook(this.#onParams, NEVER_ENDS, (onParamsHook) =>
      onParamsHook({
        params: state.params,
        request,
        setParams: state.setParams,
        paramsHandler: state.paramsHandler,
        setParamsHandler: state.setParamsHandler,
        setResult: state.setResult,
        fetchAPI,
        context,
      } as unknown as Payload<'onParams'>),
    );
    return whenSettled(walked, () => {
      // Called as a plain function, as Yoga calls it: `this` is not the walk's state.
      const paramsHandler = state.paramsHandler;
      return whenSettled(state.result || paramsHandler({ request, params: state.params, context }), (handled) => {
        // Yoga's onExecutionResult walk has a result of its own: an onParams `setResult` kept for later no longer reaches it.
        const after = {
          result: handled,
          setResult(next: unknown) {
            after.result = next;
          },
        };
        const done = eachHook(this.#onExecutionResult, NEVER_ENDS, (onExecutionResult) =>
          onExecutionResult({ result: after.result, setResult: after.setResult, request, context } as unknown as Payload<'onExecutionResult'>),
        );
        return whenSettled(done, () => after.result);
      });
    });
  }

  /** YogaServer.handleParams: envelop for this request, then processRequest; a failure is its errors as the result. */
  #handle({ request, params, context }: { request: Request; params: Params; context: Context }): unknown {
    Object.assign(context, context['request'] === request ? { params } : { request, params });
    const enveloped = this.#getEnveloped(context);
    this.#logger.debug('Processing GraphQL Parameters');
    let result: unknown;
    try {
      result = this.#processRequest(params, enveloped, context);
    } catch (error) {
      return { errors: handleError(error, this.#yoga) };
    }
    if (!isPromise(result)) return this.#handled(result);
    return result.then(
      (value) => this.#handled(value),
      (error: unknown) => ({ errors: handleError(error, this.#yoga) }),
    );
  }

  /** What handleParams does with a result: a stream's failures become its errors, except an abort. */
  #handled(result: unknown): unknown {
    this.#logger.debug('Processing GraphQL Parameters done.');
    if (!isAsyncIterable(result)) return result;
    return mapAsyncIterator(
      result,
      (value) => value,
      (error: Error) => {
        if (error.name === 'AbortError') {
          this.#logger.debug('Request aborted');
          throw error;
        }
        return { errors: handleError(error, this.#yoga) };
      },
    );
  }

  /** graphql-yoga's processRequest (process-request.js): parse, validate, build the context, execute or subscribe. */
  #processRequest(params: Params, enveloped: Enveloped, context: Context): unknown {
    const instruments = this.#instruments;
    // Yoga's parameter check has refused a request without a query before this step.
    const document = instruments.parse ? enveloped.parse(params.query) : this.#documents.parse(context, params.query as string);
    const errors = instruments.validate ? enveloped.validate(enveloped.schema, document) : this.#documents.validate(context, enveloped.schema, document);
    // A validation function that returned nothing fails here, as it does in Yoga's processRequest.
    if (errors!.length > 0) return { errors };
    return whenSettled(enveloped.contextFactory(), (contextValue) => {
      const args: ExecutionArgs = {
        schema: enveloped.schema,
        document,
        contextValue,
        variableValues: params.variables,
        operationName: params.operationName,
      };
      if (getOperationAST(document, params.operationName)?.operation === 'subscription') return enveloped.subscribe(args);
      // An `execute` instrumentation gets the payload envelop gave this request's other steps, which only envelop holds.
      return instruments.execute ? enveloped.execute(args) : this.#execute(args);
    });
  }

  /** envelop's execute step (orchestrator.js `customExecute`): onExecute hooks, the execute function, onExecuteDone hooks. */
  #execute(args: ExecutionArgs): unknown {
    const context = (args.contextValue || {}) as Context;
    const after: NonNullable<ReturnType<Hook<'onExecute'>>>[] = [];
    const state: Walk & {
      at: number;
      executeFn: ExecuteFn;
      result: Result | undefined;
      setExecuteFn(next: ExecuteFn): void;
      extendContext(extension: unknown): void;
    } = {
      ended: false,
      at: -1,
      executeFn: noEngine,
      result: undefined,
      setExecuteFn(next) {
        state.executeFn = next;
      },
      extendContext(extension) {
        if (typeof extension !== 'object') {
          throw new Error(`Invalid context extension provided! Expected "object", got: "${JSON.stringify(extension)}" (${typeof extension})`);
        }
        Object.assign(context, extension);
      },
    };
    const walked = eachHook(this.#onExecute, state, (onExecute, index) => {
      state.at = index;
      return whenSettled(
        onExecute({
          executeFn: state.executeFn,
          setExecuteFn: state.setExecuteFn,
          // Stops the walk only while its own hook is the one walked, as each step of envelop's iterateAsync has its own endEarly.
          setResultAndStopExecution(next: Result) {
            state.result = next;
            if (state.at === index) state.ended = true;
          },
          context,
          extendContext: state.extendContext,
          args,
        } as unknown as Payload<'onExecute'>),
        (each) => {
          if (each) after.push(each);
        },
      );
    });
    return whenSettled(walked, () => {
      // Called as a plain function, as envelop calls it: `this` is not the walk's state.
      const executeFn = state.executeFn;
      return whenSettled(state.result || executeFn({ ...args, contextValue: context }), (executed) => this.#executeDone(args, executed, after));
    });
  }

  /** onExecuteDone hooks, each able to replace the result; a stream's onNext and onEnd wrap it. */
  #executeDone(args: ExecutionArgs, executed: Result, after: readonly NonNullable<ReturnType<Hook<'onExecute'>>>[]): Result | Promise<Result> {
    const state = {
      result: executed,
      setResult(next: Result) {
        state.result = next;
      },
    };
    type Done = { onNext?: (payload: unknown) => unknown; onEnd?: () => void };
    const done: Done[] = [];
    const walked = eachHook(after, NEVER_ENDS, (afterCb) =>
      whenSettled((afterCb as { onExecuteDone?: (payload: unknown) => unknown }).onExecuteDone?.({ args, result: state.result, setResult: state.setResult }), (each) => {
        if (each) done.push(each as Done);
      }),
    );
    return whenSettled(walked, () => {
      let result = state.result;
      if (done.length === 0) return result;
      // Named as envelop names them: a hook that is not a function fails with the same message.
      const onNextHandler = done.flatMap((each) => (each.onNext ? [each.onNext] : []));
      const onEndHandler = done.flatMap((each) => (each.onEnd ? [each.onEnd] : []));
      if (onNextHandler.length > 0 && isAsyncIterable(result)) {
        result = mapAsyncIterator(result, (value: ExecutionResult) => {
          const step = {
            result: value,
            setResult(next: ExecutionResult) {
              step.result = next;
            },
          };
          return whenSettled(
            eachHook(onNextHandler, NEVER_ENDS, (onNext) => onNext({ args, result: step.result, setResult: step.setResult })),
            () => step.result,
          );
        });
      }
      if (onEndHandler.length > 0 && isAsyncIterable(result)) {
        result = finalAsyncIterator(result, () => {
          for (const onEnd of onEndHandler) onEnd();
        });
      }
      return result;
    });
  }
}
