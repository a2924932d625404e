/**
 * The fast lane's runner: Yoga's own request pipeline, run with less machinery.
 *
 * It calls the same plugin hooks, in the same order and with the same payloads,
 * as @whatwg-node/server's `handleRequest` and `YogaServer.handle` (graphql-yoga
 * 5.24): onRequest, onRequestParse (+ onRequestParseDone), the request parser,
 * then the operation (./operation-runner.ts: onParams, envelop's parse,
 * validate, context and execute with every envelop hook, onExecutionResult),
 * then onResultProcess and the result processor, then onResponse. Plugins'
 * `instrumentation` wraps the same steps as in Yoga (request, requestParse,
 * operation, resultProcess; envelop wraps its own). What it leaves out is
 * work, never a hook:
 *
 * - the Request is built from a body the edge already read, with no stream; its
 *   AbortController is made only if a plugin reads `signal` (the context
 *   watches node's response instead);
 * - hooks that answer synchronously are called synchronously, where Yoga wraps
 *   every step in promise helpers (docs/performance.md "The cost of one pipeline" has the
 *   fast lane against Yoga's own handler);
 * - the response is written with one `writeHead` and one `end` (./write-response.ts);
 * - a walk's payload setters are made once for all its hooks, each hook still
 *   getting a payload of its own; they are methods, not named arrows, which tsx
 *   (esbuild's keepNames) would wrap in a `defineProperty` call each.
 *
 * Where it still differs from Yoga's own node adapter (test/lane-parity.test.ts
 * holds the rest equal):
 *
 * - hooks run once the whole body is in (the edge reads it first), so an
 *   onRequest hook that answers early answers after the upload, not during it
 *   (a body the pipeline does not read, a GET's or one in a media type no parser
 *   reads, is not waited for on either lane);
 * - the Content-Length sent is the length of the body sent, where Yoga sends
 *   the header a plugin left even when it no longer matches;
 * - `url` in onRequestParse works as a URL, where Yoga's proxy throws on its
 *   methods (`url.toString()`).
 *
 * Hand-written because no library runs Yoga's pipeline for node:http without
 * those costs. Plugins whose hooks it cannot run are refused when the lane is
 * made (./index.ts), and test/pipeline-hooks.test.ts counts every hook on both
 * lanes. graphql-yoga's `processResult` is not exported; `#processResult`
 * mirrors it (and ./handle-error.ts its `handleError`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionResult } from 'graphql';
import { getInstrumented, isPromise } from 'graphql-yoga';
import type { GatewayServerContext } from '../pipeline/gateway.js';
import { handleError } from './handle-error.js';
import { eachHook, hooksNamed, NEVER_ENDS, whenSettled, type Hook, type Payload } from './hook-walk.js';
import type { EnvelopHooks } from './envelop-hooks.js';
import { OperationRunner, type OperationInternals } from './operation-runner.js';

type RequestParser = NonNullable<Payload<'onRequestParse'>['requestParser']>;
type ResultProcessor = NonNullable<Payload<'onResultProcess'>['resultProcessor']>;
type RequestHandler = Payload<'onRequest'>['requestHandler'];
type ParserDone = (payload: { requestParserResult: unknown; setRequestParserResult(next: unknown): void }) => unknown;
type FetchAPI = Payload<'onRequest'>['fetchAPI'];
type ParseOutcome = { response: Response } | { params: unknown };

/** What the runner reads off the Yoga instance: its plugins, masking and the steps it runs. */
export interface YogaInternals extends OperationInternals {
  fetchAPI: FetchAPI;
  onRequestParseHooks: Hook<'onRequestParse'>[];
  onResultProcessHooks: Hook<'onResultProcess'>[];
}

function isResponse(value: unknown): value is Response {
  return typeof value === 'object' && value !== null && 'status' in value && 'headers' in value && 'arrayBuffer' in value;
}

/**
 * Yoga's `new URL()` only when a hook reads it, as YogaServer.parseRequest and
 * handleRequest do; over URL's prototype, so it is still `instanceof URL`.
 */
function lazyUrl(request: Request, fetchAPI: FetchAPI): URL {
  let url: URL | undefined;
  return new Proxy(Object.create(fetchAPI.URL.prototype) as URL, {
    get(_target, property) {
      url ??= new fetchAPI.URL(request.url, 'http://localhost');
      const value: unknown = Reflect.get(url, property, url);
      return typeof value === 'function' ? value.bind(url) : value;
    },
  });
}

/**
 * The host @whatwg-node/server puts in a request's URL when its Host header is
 * absent (HTTP/1.0) or empty: the socket's own address and port, unless IPv6.
 */
function hostOfSocket(incoming: IncomingMessage): string {
  const { localAddress, localPort } = incoming.socket ?? {};
  return localAddress && !localAddress.includes('::') && !localAddress.includes('ffff') ? `${localAddress}:${localPort ?? 80}` : 'localhost';
}

type EdgeRequestClass = new (url: string, init: RequestInit, outgoing: ServerResponse) => Request;

/**
 * fetchAPI's Request whose `signal` aborts when node's response closes or
 * errs before it finished, as the node adapter's does, with the response's
 * error as the reason. The AbortController is made only when a plugin reads
 * `signal`: the gateway's own steps watch the response instead.
 */
function edgeRequestClass(fetchAPI: FetchAPI): EdgeRequestClass {
  const Base = fetchAPI.Request as unknown as new (url: string, init: RequestInit) => Request;
  return class EdgeRequest extends Base {
    readonly #outgoing: ServerResponse;
    #signal: AbortSignal | undefined;

    constructor(url: string, init: RequestInit, outgoing: ServerResponse) {
      super(url, init);
      this.#outgoing = outgoing;
    }

    override get signal(): AbortSignal {
      if (!this.#signal) {
        const controller = new AbortController();
        const outgoing = this.#outgoing;
        if (outgoing.writableFinished) {
          // Answered already: nothing is left to abort.
        } else if (outgoing.destroyed) {
          controller.abort(outgoing.errored ?? undefined);
        } else {
          const { gone } = {
            gone() {
              if (!controller.signal.aborted) controller.abort(outgoing.errored ?? undefined);
            },
          };
          outgoing.once('error', gone).once('close', gone).once('finish', () => outgoing.off('close', gone).off('error', gone));
        }
        this.#signal = controller.signal;
      }
      return this.#signal;
    }
  };
}

export class PipelineRunner {
  readonly #yoga: YogaInternals;
  readonly #fetchAPI: FetchAPI;
  readonly #Request: EdgeRequestClass;
  readonly #onRequest: Hook<'onRequest'>[];
  readonly #onResponse: Hook<'onResponse'>[];
  readonly #onRequestParse: Hook<'onRequestParse'>[];
  readonly #onResultProcess: Hook<'onResultProcess'>[];
  readonly #handle: RequestHandler;
  readonly #getResultForParams: (payload: { params: unknown; request: Request }, context: Record<string, unknown>) => unknown;
  readonly #instrumentation: YogaInternals['instrumentation'];

  /** `envelop`: envelop's hook lists as envelop took them (./envelop-hooks.ts). */
  constructor(yoga: YogaInternals, envelop: EnvelopHooks) {
    this.#yoga = yoga;
    this.#instrumentation = yoga.instrumentation;
    const operations = new OperationRunner(yoga, envelop);
    const getResultForParams = operations.resultForParams.bind(operations);
    const operation = this.#instrumentation?.operation;
    this.#getResultForParams = operation
      ? (payload, context) => getInstrumented({ context, request: payload.request }).asyncFn(operation, getResultForParams)(payload, context)
      : getResultForParams;
    this.#fetchAPI = yoga.fetchAPI;
    this.#Request = edgeRequestClass(yoga.fetchAPI);
    // @whatwg-node/server takes its lists from the plugins when Yoga's adapter is made, after every onYogaInit; Yoga keeps its own.
    this.#onRequest = hooksNamed(yoga.plugins, 'onRequest');
    this.#onResponse = hooksNamed(yoga.plugins, 'onResponse');
    this.#onRequestParse = yoga.onRequestParseHooks;
    this.#onResultProcess = yoga.onResultProcessHooks;
    this.#handle = ((request: Request, serverContext: GatewayServerContext) => this.#yogaHandle(request, serverContext)) as RequestHandler;
  }

  /**
   * The Request Yoga's plugins see, over a body the edge already read (null:
   * none, or the client left before sending it whole). Its URL and signal are
   * those @whatwg-node/server's node adapter gives.
   */
  request(incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer | null): Request {
    const url = `http://${incoming.headers.host || hostOfSocket(incoming)}${incoming.url ?? '/'}`;
    const init: RequestInit = { method: incoming.method ?? 'GET', headers: incoming.headers as Record<string, string> };
    // @whatwg-node/node-fetch takes a Buffer as it is; the DOM typing lists Uint8Array views only.
    if (body !== null && body.length > 0) init.body = body as unknown as BodyInit;
    return new this.#Request(url, init, outgoing);
  }

  /** @whatwg-node/server's handleRequest: onRequest hooks, the handler (or a hook's answer), onResponse hooks. */
  run(request: Request, serverContext: GatewayServerContext): Response | Promise<Response> {
    const traced = this.#instrumentation?.request;
    if (!traced) return this.#run(request, serverContext);
    return getInstrumented({ request }).asyncFn(traced, (each: Request, context: GatewayServerContext) => this.#run(each, context))(request, serverContext);
  }

  #run(request: Request, serverContext: GatewayServerContext): Response | Promise<Response> {
    const fetchAPI = this.#fetchAPI;
    const state = { ended: false, request, requestHandler: this.#handle, response: undefined as Response | undefined };
    const url = lazyUrl(request, fetchAPI);
    const setters = {
      setRequest(next: Request) {
        state.request = next;
      },
      setRequestHandler(next: RequestHandler) {
        state.requestHandler = next;
      },
      endResponse(next: Response) {
        state.response = next;
        if (next) state.ended = true;
      },
    };
    const started = eachHook(this.#onRequest, state, (onRequestHook) =>
      onRequestHook({
        request: state.request,
        setRequest: setters.setRequest,
        serverContext,
        fetchAPI,
        url,
        requestHandler: state.requestHandler,
        setRequestHandler: setters.setRequestHandler,
        endResponse: setters.endResponse,
      } as Payload<'onRequest'>),
    );
    return whenSettled(started, () =>
      state.response
        ? this.#respond(state.request, state.response, serverContext)
        : whenSettled(state.requestHandler(state.request, serverContext) as Response | Promise<Response>, (answer) => this.#respond(state.request, answer, serverContext)),
    );
  }

  /** The onResponse hooks, each able to replace the response. */
  #respond(request: Request, response: Response, serverContext: GatewayServerContext): Response | Promise<Response> {
    const fetchAPI = this.#fetchAPI;
    const state = {
      response,
      setResponse(next: Response) {
        state.response = next;
      },
    };
    const done = eachHook(this.#onResponse, NEVER_ENDS, (onResponseHook) =>
      onResponseHook({ request, response: state.response, serverContext, setResponse: state.setResponse, fetchAPI } as Payload<'onResponse'>),
    );
    return whenSettled(done, () => state.response);
  }

  /** YogaServer.handle: parse the request, run the operation, process the result. */
  #yogaHandle(request: Request, serverContext: GatewayServerContext): Response | Promise<Response> {
    const instrumented = this.#instrumentation && getInstrumented({ request });
    const parseRequest = instrumented?.asyncFn(this.#instrumentation?.requestParse, (each: Request, context: GatewayServerContext) => this.#parseRequest(each, context));
    const processResult = instrumented?.asyncFn(
      this.#instrumentation?.resultProcess,
      (each: Request, result: ExecutionResult | ExecutionResult[], context: GatewayServerContext) => this.#processResult(each, result, context),
    );
    try {
      const parsedRequest = parseRequest ? parseRequest(request, serverContext) : this.#parseRequest(request, serverContext);
      const answer = whenSettled(parsedRequest, (outcome): Response | Promise<Response> => {
        if ('response' in outcome) return outcome.response;
        const { params } = outcome;
        const result = Array.isArray(params)
          ? Promise.all(
              params.map((each: unknown) =>
                Promise.resolve()
                  .then(() => this.#getResultForParams({ params: each, request }, Object.create(serverContext) as Record<string, unknown>))
                  .catch((error: unknown) => ({ errors: handleError(error, this.#yoga) })),
              ),
            )
          : this.#getResultForParams({ params, request }, serverContext as unknown as Record<string, unknown>);
        return whenSettled(result as ExecutionResult | Promise<ExecutionResult>, (resolved) =>
          processResult ? processResult(request, resolved, serverContext) : this.#processResult(request, resolved, serverContext),
        );
      });
      return isPromise(answer) ? answer.catch((error: unknown) => this.#failed(request, error, serverContext)) : answer;
    } catch (error) {
      return this.#failed(request, error, serverContext);
    }
  }

  /** A step threw: its error, handled as Yoga handles it, is the result. */
  #failed(request: Request, error: unknown, serverContext: GatewayServerContext): Response | Promise<Response> {
    return this.#processResult(request, { errors: handleError(error, this.#yoga) }, serverContext);
  }

  /** YogaServer.parseRequest: onRequestParse hooks choose the parser, onRequestParseDone hooks see its result. */
  #parseRequest(request: Request, serverContext: GatewayServerContext): ParseOutcome | Promise<ParseOutcome> {
    const fetchAPI = this.#fetchAPI;
    const state = { ended: false, requestParser: undefined as RequestParser | undefined, response: undefined as Response | undefined, parsed: [] as ParserDone[] };
    const url = lazyUrl(request, fetchAPI);
    const setters = {
      setRequestParser(next: RequestParser) {
        state.requestParser = next;
      },
      endResponse(next: Response) {
        state.response = next;
        state.ended = true;
      },
    };
    const chosen = eachHook(this.#onRequestParse, state, (onRequestParse) =>
      whenSettled(
        onRequestParse({
          request,
          url,
          requestParser: state.requestParser,
          serverContext,
          setRequestParser: setters.setRequestParser,
          endResponse: setters.endResponse,
          fetchAPI,
        } as Payload<'onRequestParse'>),
        (result) => {
          const done = result?.onRequestParseDone as ParserDone | undefined;
          if (done) state.parsed.push(done);
        },
      ),
    );
    return whenSettled(chosen, (): ParseOutcome | Promise<ParseOutcome> => {
      if (state.response) return { response: state.response };
      if (!state.requestParser) return { response: new fetchAPI.Response(null, { status: 415, statusText: 'Unsupported Media Type' }) };
      return whenSettled(state.requestParser(request) as unknown, (parserResult): ParseOutcome | Promise<ParseOutcome> => {
        if (isResponse(parserResult)) return { response: parserResult };
        const outcome = { params: parserResult };
        const done = eachHook(state.parsed, NEVER_ENDS, (onRequestParseDone) =>
          onRequestParseDone({
            requestParserResult: outcome.params,
            setRequestParserResult(next: unknown) {
              outcome.params = next;
            },
          }),
        );
        return whenSettled(done, () => outcome);
      });
    });
  }

  /** graphql-yoga's processResult (process-request.js): onResultProcess hooks pick the processor, which makes the Response. */
  #processResult(request: Request, result: ExecutionResult | ExecutionResult[], serverContext: GatewayServerContext): Response | Promise<Response> {
    const fetchAPI = this.#fetchAPI;
    const state = { result, resultProcessor: undefined as ResultProcessor | undefined, acceptedMediaType: '*/*', acceptableMediaTypes: [] as string[] };
    const setters = {
      setResult(next: ExecutionResult) {
        state.result = next;
      },
      setResultProcessor(next: ResultProcessor, mediaType: string) {
        state.resultProcessor = next;
        state.acceptedMediaType = mediaType;
      },
    };
    const chosen = eachHook(this.#onResultProcess, NEVER_ENDS, (onResultProcessHook) =>
      onResultProcessHook({
        request,
        acceptableMediaTypes: state.acceptableMediaTypes,
        result: state.result,
        setResult: setters.setResult,
        resultProcessor: state.resultProcessor,
        setResultProcessor: setters.setResultProcessor,
        serverContext,
      } as unknown as Payload<'onResultProcess'>),
    );
    return whenSettled(chosen, () => {
      const { resultProcessor, acceptableMediaTypes } = state;
      if (!resultProcessor) {
        return new fetchAPI.Response(null, {
          status: 406,
          statusText: 'Not Acceptable',
          headers: { accept: acceptableMediaTypes.join('; charset=utf-8, ') },
        });
      }
      return resultProcessor(state.result as Parameters<ResultProcessor>[0], fetchAPI, state.acceptedMediaType);
    });
  }
}
