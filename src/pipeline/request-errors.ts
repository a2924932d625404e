/**
 * Every malformed request gets a 400 (or the status Yoga chose) with a GraphQL
 * error body and a code, on every method and content type:
 *
 * - Yoga's GET and form parsers `JSON.parse` the `variables` and `extensions`
 *   parameters without a guard, so `variables={id:` would surface as a masked
 *   500 with a stack in the log; here it is a 400 BAD_REQUEST.
 * - Yoga answers an unsupported media type (415), an unacceptable Accept (406)
 *   and an unknown path (404) with an empty body; here they carry an error body.
 * - Yoga's parameter checks put `Allow: GET, POST` on some of their 400s; an
 *   answer other than a 405 carries no Allow here. RFC 9110 §10.2.1: Allow
 *   lists the methods the target takes, a 405 must carry it and others may;
 *   the gateway sends it where the method is what is answered (the edge's 405s
 *   and plain OPTIONS, always `GET, POST, OPTIONS` but for a mutation by GET's
 *   `POST`), where Yoga's left out OPTIONS and told a client whose method was
 *   fine nothing about what to change.
 * - A request the edge refused before handing it over (a WebSocket operation
 *   whose token no HTTP request could carry, say: src/server/websocket.ts) is
 *   answered here with that refusal, as it arrives, so that it goes through
 *   the pipeline's answer like any other: the access log's line among it.
 */
import { GraphQLError } from 'graphql';
import { isPromise, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { GatewayServerContext } from './gateway.js';
import { handleMaybePromise } from '@whatwg-node/promise-helpers';
import { repeatedMember } from '../json-members.js';
import { withoutByteOrderMark } from '../json-text.js';
import { isFormPost, isJsonPost } from '../media-type.js';
import { textPrefix } from '../text-prefix.js';
import { BATCH_REFUSED, badRequest, VARIABLES_AS_TEXT, errorBody, ErrorCode, FORM_WITHOUT_QUERY, notAcceptable, notFound, UNSUPPORTED_MEDIA_TYPE, withExtensions } from '../errors.js';

/** The distinct media types an Accept-like list names, in order, without parameters. */
function mediaTypesOf(list: string): string[] {
  return [...new Set(list.split(',').map((entry) => entry.split(';')[0]!.trim().toLowerCase()).filter(Boolean))];
}

/** The message for each empty answer of Yoga's (its 405s carry their own), from the headers it sent with it and its endpoint. */
const EMPTY_BODY_MESSAGES: Record<number, (headers: Headers, graphqlEndpoint: string) => string> = {
  404: (_headers, graphqlEndpoint) => notFound(graphqlEndpoint),
  406: (headers) => notAcceptable(headers.get('accept') ?? 'application/graphql-response+json, application/json'),
  415: () => UNSUPPORTED_MEDIA_TYPE,
};

/** The code of each error body written here, by request: it comes from no GraphQL result, so the access log asks. */
const refused = new WeakMap<Request, ErrorCode>();

/** The code of the error body written here for `request` (an empty answer of Yoga's, or an edge's refusal), if any. */
export function refusalCode(request: Request): ErrorCode | undefined {
  return refused.get(request);
}

/**
 * Records that the pipeline answered `request` with an error body of `code` written outside any GraphQL result (a
 * plugin's own `endResponse`), so its access line names the code its client saw.
 */
export function noteRefusal(request: Request, code: ErrorCode): void {
  refused.set(request, code);
}

/** A refusal of the edge's: the status an HTTP client would have had, and the error. */
export interface EdgeRefusal {
  status: number;
  error: GraphQLError;
  /** The name the refused operation was sent with, as sent: what its access line names, its document being unread. */
  operationName?: string;
  /** The trace of the span the refusal got (../telemetry/operation-spans.ts), set as the pipeline takes it: its access line's. */
  traceId?: string;
}

/** Answers a request the edge handed over refused (`edgeRefusal`), before anything reads it. */
export function useEdgeRefusals(): Plugin {
  return {
    onRequest({ request, serverContext, fetchAPI, endResponse }) {
      const refusal = (serverContext as Partial<GatewayServerContext>).edgeRefusal;
      if (!refusal) return;
      refused.set(request, refusal.error.extensions.code as ErrorCode);
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [refusal.error.toJSON()] }), {
          status: refusal.status,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        }),
      );
    },
  };
}

export function useRequestErrors(): Plugin {
  let graphqlEndpoint = '';
  return {
    onYogaInit({ yoga }) {
      graphqlEndpoint = yoga.graphqlEndpoint;
    },
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser((request) => {
        const checked = (params: Parsed, form?: URLSearchParams) => withoutEmptyQuery(withQueryInForm(request, variablesNotText(notThenable(notBatch(params))), form));
        const json = isJsonPost(request);
        const checkedJson = (params: Parsed): Parsed | Promise<Parsed> => (json ? eachMemberOnce(request, params, checked) : checked(params));
        try {
          // Before the parser, whose own refusal (a repeated `variables` of which the first is not JSON) named the lesser fault.
          const search = request.url.indexOf('?');
          if (request.method === 'GET' && search !== -1) eachParameterOnce(new URLSearchParams(request.url.slice(search + 1)));
          if (isFormPost(request)) return parsedForm(request, requestParser, checked);
          const parsed = requestParser(request);
          // Yoga's parsers answer with promises or settled "fake" promises (@whatwg-node/promise-helpers).
          return isPromise(parsed)
            ? Promise.resolve(parsed)
                .catch((error: unknown) => jsonAfterByteOrderMark(request, error))
                .then(checkedJson, asBadRequest)
            : checkedJson(parsed);
        } catch (error) {
          // A body read already (the fast lane's) is parsed at once, and its refusal thrown here.
          try {
            return jsonAfterByteOrderMark(request, error).then(checkedJson, asBadRequest);
          } catch (refusal) {
            return asBadRequest(refusal);
          }
        }
      });
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      if (response.status !== 405 && response.headers.has('allow')) response.headers.delete('allow');
      const message = EMPTY_BODY_MESSAGES[response.status];
      if (message === undefined || response.body !== null) return;
      refused.set(request, ErrorCode.BAD_REQUEST);
      const headers = new fetchAPI.Headers(response.headers);
      headers.set('content-type', 'application/json; charset=utf-8');
      // Yoga joins one entry per result processor that could have answered, so a type repeats
      // ("text/event-stream; charset=utf-8, text/event-stream") and the last has no charset.
      const accept = headers.get('accept');
      if (response.status === 406 && accept) headers.set('accept', mediaTypesOf(accept).map((type) => `${type}; charset=utf-8`).join(', '));
      setResponse(new fetchAPI.Response(errorBody(ErrorCode.BAD_REQUEST, message(response.headers, graphqlEndpoint)), { status: response.status, headers }));
    },
  };
}

type Parsed = GraphQLParams | GraphQLParams[] | Response;

/**
 * A JSON body (POST `application/json` or `application/graphql+json`) that begins with a UTF-8 byte order mark,
 * which RFC 8259 §8.1 lets a parser ignore: read without it, once Yoga's parser has refused the body (its JSON.parse
 * takes no mark), so a body without one costs nothing more. The body's text is at hand: @whatwg-node/fetch keeps the
 * text it read (and a platform Request's json() drops the mark itself). Anything else rejects as it did.
 */
function jsonAfterByteOrderMark(request: Request, error: unknown): Promise<Parsed> {
  const contentType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  // Thrown at once: any other request's refusal stays as it was.
  if (request.method !== 'POST' || (contentType !== 'application/json' && contentType !== 'application/graphql+json')) throw error;
  return Promise.resolve(request.text()).then(
    (text) => {
      const json = withoutByteOrderMark(text);
      let body: unknown;
      try {
        body = JSON.parse(json);
      } catch {
        throw error;
      }
      if (json === text) {
        // A body read already (the fast lane's) is parsed at once, and Yoga's parser called a `then` it held.
        notThenable(body as Parsed);
        throw error;
      }
      // Yoga's check of what it parsed, with its message.
      if (body === null || typeof body !== 'object') throw badRequest(`POST body is expected to be object but received ${body === null ? 'null' : typeof body}`);
      return body as Parsed;
    },
    () => {
      throw error;
    },
  );
}

/** The parameters of a GraphQL GET or form: Yoga's, and the persisted document's hash (./trusted-documents.ts). */
const PARAMETERS = ['query', 'operationName', 'variables', 'extensions', 'documentId'];

/**
 * Refuses parameters (a GET's query string, a form's body) that name one of the GraphQL parameters twice
 * (`query=…&query=…`) with a 400, as a header sent twice is at the edge (src/server/repeated-fields.ts): Yoga
 * reads the first, where a cache or a filter in front may have read the last (parameter pollution).
 */
function eachParameterOnce(parameters: URLSearchParams): void {
  const seen = new Set<string>();
  for (const name of parameters.keys()) {
    if (!PARAMETERS.includes(name)) continue;
    if (seen.has(name)) throw badRequest(`The parameter \`${name}\` is given more than once: send each of ${PARAMETERS.map((each) => `\`${each}\``).join(', ')} at most once.`);
    seen.add(name);
  }
}

/** The refusal of a JSON body that gives `name` twice; a name the client chose is cut at 100 characters. */
const repeatedMemberRefused = (name: string) => `The parameter \`${textPrefix(name, 100)}\` is given more than once in the JSON body: send each of its members at most once.`;

/**
 * Refuses a JSON body whose top-level object names a member twice (`{"query": …, "query": …}`) with a 400, as a
 * GET's or a form's repeated parameter is (`eachParameterOnce`): JSON.parse keeps the last, where a cache or a filter
 * in front may have read the first. Any member, not only the GraphQL parameters: Yoga refuses every other name, and
 * the repeat is the mistake to name. Read on the text the parser read, which the body keeps (@whatwg-node/fetch: a
 * settled promise, so the fast lane stays synchronous); members of nested objects (variables) are left to JSON.
 * A list (a batch) is refused whole, later, by Yoga.
 */
function eachMemberOnce(request: Request, params: Parsed, then: (params: Parsed) => Parsed): Parsed | Promise<Parsed> {
  // A list, or an answer a parser gave instead of parameters ('status'), is no object of members.
  if (typeof params !== 'object' || params === null || Array.isArray(params) || 'status' in params) return then(params);
  return handleMaybePromise(
    () => request.text(),
    (text) => {
      const name = repeatedMember(text, Object.keys(params).length);
      if (name !== undefined) throw badRequest(repeatedMemberRefused(name));
      return then(params);
    },
    // A platform Request keeps no text once json() read it: the WebSocket edge's, whose body it wrote from a payload
    // graphql-ws had parsed (src/server/websocket.ts), so that no name repeats in it.
    () => then(params),
  );
}

/**
 * A form parsed by Yoga's parser, its fields then checked for repeats (`eachParameterOnce`) on the text the parser
 * read, which the body keeps (@whatwg-node/fetch; ./trusted-documents.ts reads it too): a repeat is refused before
 * the parser's own refusal of a field, as a GET's is.
 */
function parsedForm(request: Request, requestParser: (request: Request) => unknown, checked: (params: Parsed, form: URLSearchParams) => Parsed): Promise<Parsed> {
  let parsed: Promise<Parsed>;
  try {
    parsed = Promise.resolve(requestParser(request) as Parsed | Promise<Parsed>);
  } catch (error) {
    // The fast lane's parser reads a body it already has, and throws at once.
    parsed = Promise.reject(error);
  }
  const form = () =>
    Promise.resolve(request.text()).then((text) => {
      const fields = new URLSearchParams(text);
      eachParameterOnce(fields);
      return fields;
    });
  return parsed.then(
    (params) => form().then((fields) => checked(params, fields)),
    (error: unknown) => form().then(() => asBadRequest(error)),
  );
}

/**
 * An empty `query` as no query: Yoga's GET parser already reads `query=` so
 * ("Must provide query string.", BAD_REQUEST), where a JSON body's `""` went on
 * to GRAPHQL_PARSE_FAILED; with a persisted-document hash it is what graphql-ws
 * clients must send (README "Trusted documents").
 */
function withoutEmptyQuery(parsed: Parsed): Parsed {
  if ((parsed as GraphQLParams | null)?.query !== '') return parsed;
  const { query: _empty, ...rest } = parsed as GraphQLParams;
  return rest;
}

/** Refuses `variables` sent as a string (JSON encoded twice), before Yoga, whose own refusal did not say to send the object. */
function variablesNotText(parsed: Parsed): Parsed {
  if (typeof (parsed as GraphQLParams | null)?.variables === 'string') throw badRequest(VARIABLES_AS_TEXT);
  return parsed;
}

/** Refuses a batch (a JSON array of operations), before Yoga, whose own refusal named no way on. */
function notBatch(parsed: Parsed): Parsed {
  if (Array.isArray(parsed)) throw badRequest(BATCH_REFUSED);
  return parsed;
}

/**
 * Refuses a body holding a `then` parameter as Yoga refuses any other it does not know (one that is null it ignores, as
 * Yoga does): Yoga's steps (promise-helpers' `isPromise` is `value?.then != null`) took such parameters for a promise
 * and called their `then`, a 500.
 */
function notThenable(parsed: Parsed): Parsed {
  if (parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, 'then') && (parsed as { then?: unknown }).then != null) throw badRequest('Unexpected parameter "then" in the request body.');
  return parsed;
}

/**
 * A POST form with neither a `query` nor `extensions` (where a persisted
 * document's hash travels) refused with a message that says it was read as a
 * form: that is what `curl -d '{"query": …}'` sends without a Content-Type, and
 * Yoga's "Must provide query string." sent a caller who had written a query
 * looking for what was missing. A GET keeps Yoga's message: it has no body to
 * mislabel.
 */
function withQueryInForm(request: Request, parsed: Parsed, form: URLSearchParams | undefined): Parsed {
  if (request.method !== 'POST' || Array.isArray(parsed)) return parsed;
  const params = parsed as GraphQLParams | null;
  if (params === null || typeof params !== 'object' || params.query !== undefined || params.extensions !== undefined) return parsed;
  // A persisted document's hash (./trusted-documents.ts useDocumentIdParameter) names a query too.
  if ((params as { documentId?: unknown }).documentId !== undefined) return parsed;
  if (!isFormPost(request)) return parsed;
  // `query=` is a query field, empty (Yoga's form parser reads it as none): Yoga's "Must provide query string." says it.
  if (form?.has('query')) return parsed;
  throw badRequest(FORM_WITHOUT_QUERY);
}

/**
 * A parser's failure as the client's error, always a 400: Yoga marks a body
 * that is not JSON as `spec`, which would answer it 200 under
 * `Accept: application/json`; a request that is not GraphQL-over-HTTP at all
 * is a 400 on every media type. Anything not a GraphQLError is a parameter
 * Yoga's parser could not read.
 */
function asBadRequest(error: unknown): never {
  if (!(error instanceof GraphQLError)) {
    throw badRequest('A request parameter is not valid JSON: `variables` and `extensions` must be JSON objects.');
  }
  const http = error.extensions.http as { spec?: boolean } | undefined;
  if (!http?.spec) throw error;
  const { spec: _spec, ...rest } = http;
  throw withExtensions(error, { ...error.extensions, http: rest });
}
