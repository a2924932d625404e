/**
 * One SERVER span per GraphQL operation, per the OpenTelemetry GraphQL
 * conventions: named after the operation type (`query ExecutionEvents` when the
 * name is one of the typed client's, else just `query`), with
 * `graphql.operation.type`, `graphql.operation.name` and, when
 * OTEL_GRAPHQL_DOCUMENT is on, `graphql.document`. It continues the W3C
 * `traceparent` the request brought, and is the active span while the
 * operation runs, so upstream attempts become its children.
 *
 * A subscription's span covers its start (arguments checked, first poll
 * joined); its later updates come from the shared poller, whose polls are
 * spans of their own.
 *
 * Written here rather than with @envelop/opentelemetry, which names spans and
 * attributes its own way (`graphql.execute.*`) and adds a span per resolver.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type TextMapGetter } from '@opentelemetry/api';
import { ATTR_CLIENT_ADDRESS } from '@opentelemetry/semantic-conventions';
import { getOperationAST, Kind, print, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { errorCodeLabel, KNOWN_OPERATION_NAMES, MAX_OPERATION_NAME_LENGTH } from './metrics.js';
import { tracer } from './tracing.js';
import type { GatewayServerContext } from '../pipeline/gateway.js';
import { detached } from '../detached-text.js';
import { clientAddress, type TrustedProxies } from '../server/client-address.js';
import { textPrefix } from '../text-prefix.js';

/** Attribute names of the GraphQL conventions (still "development" there, so not exported by the stable package). */
const ATTR_GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';
const ATTR_GRAPHQL_OPERATION_NAME = 'graphql.operation.name';
const ATTR_GRAPHQL_DOCUMENT = 'graphql.document';

const HEADERS: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * An operation's name as a span keeps it: its first MAX_OPERATION_NAME_LENGTH characters, detached from the
 * request's text, which a slice would keep while the span waits in the exporter's queue (../detached-text.ts).
 */
function spanName(name: string): string {
  return detached(textPrefix(name, MAX_OPERATION_NAME_LENGTH));
}

/** Names the active operation span after the document it runs. */
function describe(document: DocumentNode, operationName: string | null | undefined, withDocument: boolean): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  const operation = getOperationAST(document, operationName);
  // The name as sent, also when it names no operation of the document (OPERATION_RESOLUTION_FAILURE).
  const name = operation?.name?.value ?? (operationName || undefined);
  if (name) span.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, spanName(name));
  if (!operation) return;
  const type = operation.operation;
  span.updateName(name && KNOWN_OPERATION_NAMES.has(name) ? `${type} ${name}` : type);
  span.setAttribute(ATTR_GRAPHQL_OPERATION_TYPE, type);
  if (withDocument) span.setAttribute(ATTR_GRAPHQL_DOCUMENT, print(document));
}

/** The codes the client will see for `errors`, as a span status message (this runs before masking and the codes step). */
function codesOf(errors: readonly unknown[]): string {
  return [...new Set(errors.map((error) => errorCodeLabel(error as GraphQLError, undefined)))].join(',');
}

/** Marks the active operation span failed, with the codes the client will see. */
function failed(errors: readonly unknown[] | undefined): void {
  const span = trace.getActiveSpan();
  if (!span || !errors?.length) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message: codesOf(errors) });
}

/**
 * The span's `client.address`, as the access line's `clientAddress` (../server/client-address.ts): given as the span
 * starts, as the conventions ask of what a sampler may read.
 */
function clientAttributes(serverContext: Partial<GatewayServerContext>, trustedProxies: TrustedProxies | undefined): Attributes | undefined {
  const address = clientAddress({ request: serverContext.req ?? serverContext.webSocket?.upgrade }, trustedProxies);
  return address === undefined ? undefined : { [ATTR_CLIENT_ADDRESS]: address };
}

/**
 * Requests the pipeline refused while reading them (a body that is no JSON, CSRF prevention's 403): thrown before
 * Yoga's operation step, so the operation span never began. Kept until the result is processed, where the request's
 * server context gives the span its `client.address`.
 */
const refusedWhileRead = new WeakMap<Request, { error: unknown; startTime: number }>();

/** The trace of the span a request refused while it was read got, for its access line; undefined for any other. */
const refusalTraces = new WeakMap<Request, string>();

/**
 * The trace id of the operation span of `request` when the pipeline refused it while reading it, else undefined;
 * taken out of the table, as an entry left for the WeakMap to drop outlives young-generation collections.
 */
export function takeRefusedRequestTraceId(request: Request): string | undefined {
  const traceId = refusalTraces.get(request);
  if (traceId !== undefined) refusalTraces.delete(request);
  return traceId;
}

/**
 * `document`: put the operation's text in `graphql.document` (OTEL_GRAPHQL_DOCUMENT). `trustedProxies`:
 * TRUSTED_PROXIES, for `client.address`.
 */
export function useOperationSpans({ document, trustedProxies }: { document: boolean; trustedProxies?: TrustedProxies | undefined }): Plugin {
  return {
    instrumentation: {
      requestParse({ request }, wrapped) {
        const startTime = Date.now();
        const refused = (error: unknown) => void refusedWhileRead.set(request, { error, startTime });
        try {
          const done = wrapped();
          return done instanceof Promise ? done.catch((error: unknown) => (refused(error), Promise.reject(error))) : done;
        } catch (error) {
          refused(error);
          throw error;
        }
      },
      operation({ request, context: operationContext }, wrapped) {
        const parent = propagation.extract(ROOT_CONTEXT, request.headers, HEADERS);
        // The conventions' name for an operation not yet parsed.
        const span = tracer().startSpan('GraphQL Operation', { kind: SpanKind.SERVER, attributes: clientAttributes(operationContext as Partial<GatewayServerContext>, trustedProxies) }, parent);
        const end = (error?: unknown) => {
          // Thrown before any result: a request refused before parsing (trusted documents, no document). Its code,
          // as everywhere else, not the error's class ("GraphQLError"), which neither the access line nor a metric shows.
          if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: codesOf(error instanceof AggregateError ? error.errors : [error]) });
          span.end();
        };
        try {
          const done = context.with(trace.setSpan(parent, span), wrapped);
          if (done instanceof Promise) return done.then(() => end(), (error: unknown) => (end(error), Promise.reject(error)));
          end();
          return done;
        } catch (error) {
          end(error);
          throw error;
        }
      },
    },
    // An operation the WebSocket edge refused is answered in onRequest, before Yoga's operation step, so the span
    // above never begins: it gets one of its own, as refused before parsing over HTTP, and its access line the trace.
    onRequest({ request, serverContext }) {
      const refusal = (serverContext as Partial<GatewayServerContext>).edgeRefusal;
      if (!refusal) return;
      const attributes = clientAttributes(serverContext as Partial<GatewayServerContext>, trustedProxies);
      const span = tracer().startSpan('GraphQL Operation', { kind: SpanKind.SERVER, attributes }, propagation.extract(ROOT_CONTEXT, request.headers, HEADERS));
      if (refusal.operationName) span.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, spanName(refusal.operationName));
      span.setStatus({ code: SpanStatusCode.ERROR, message: codesOf([refusal.error]) });
      span.end();
      refusal.traceId = span.spanContext().traceId;
    },
    // What was refused while read ends here, answered: a span of its own, as one refused a step later has.
    onResultProcess({ request, serverContext }: { request: Request; serverContext?: unknown }) {
      const refusal = refusedWhileRead.get(request);
      if (!refusal) return;
      refusedWhileRead.delete(request);
      const attributes = clientAttributes(serverContext as Partial<GatewayServerContext>, trustedProxies);
      const span = tracer().startSpan('GraphQL Operation', { kind: SpanKind.SERVER, attributes, startTime: refusal.startTime }, propagation.extract(ROOT_CONTEXT, request.headers, HEADERS));
      span.setStatus({ code: SpanStatusCode.ERROR, message: codesOf(refusal.error instanceof AggregateError ? refusal.error.errors : [refusal.error]) });
      span.end();
      refusalTraces.set(request, span.spanContext().traceId);
    },
    // The name as sent, for a request refused before its document is parsed; parsing names it again (describe).
    onParams({ params }) {
      const name = params.operationName;
      if (typeof name === 'string' && name !== '') trace.getActiveSpan()?.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, spanName(name));
    },
    // Named once parsed, so an operation refused by validation is named after its type too.
    onParse({ context: { params } }) {
      return ({ result }) => {
        if (result instanceof Error || result?.kind !== Kind.DOCUMENT) return;
        describe(result as DocumentNode, (params as GraphQLParams | undefined)?.operationName, document);
      };
    },
    onExecute({ args }) {
      describe(args.document, args.operationName, document);
    },
    onSubscribe({ args }) {
      describe(args.document, args.operationName, document);
    },
    // Also a subscription refused at its start. What a later update reports (NOT_FOUND from the
    // first poll among them) arrives after its span ended: the poll span that read it says so.
    onExecutionResult({ result }) {
      failed(Array.isArray(result) ? undefined : (result as ExecutionResult).errors);
    },
  };
}
