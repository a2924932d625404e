/**
 * The typed client for frontends and tests: graphql-request plus the documents
 * and types graphql-codegen generates from schema/operations/*.graphql.
 *
 *   const client = createGatewayClient('http://localhost:4000/graphql', 'Bearer …');
 *   const { execution } = await client.request(ExecutionStatusDocument, { id: 'ex_demo_4' });
 *   const { data, errors, extensions } = await client.requestResult(ExecutionsDocument, { ids });
 *   catch (error) { for (const { extensions } of gatewayErrors(error)) if (extensions?.code === 'NOT_FOUND') … }
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { ClientError, GraphQLClient, type BatchRequestDocument, type BatchRequestsOptions, type RawRequestOptions, type RequestDocument, type RequestOptions, type TypedDocumentString, type Variables } from 'graphql-request';
// The client's whole type graph is src/client/ and this dependency-free file: a frontend type-checks it under its own settings.
import type { DataWarning, ErrorCode, UpstreamCost } from '../client-contract.js';
import { headerPairs, headerValue, requestableHeaders, unsendableHeader } from './authorization.js';
import { absoluteEndpoint, httpEndpoint } from './endpoint.js';
import { causeTelling } from './fetch-cause.js';
import type { HeadersInit } from './fetch-types.js';
import { PersistedDocuments } from './persisted-documents.js';

export * from './generated.js';
export { ErrorCode, WarningCode, type DataWarning, type UpstreamCost } from '../client-contract.js';
export { watchExecution, WatchError, type ExecutionUpdate, type OutageNotice, type WatchErrorCode, type WatchOptions } from './live.js';

/** What the gateway puts in a result's `extensions` (README "Warnings", "Example"). */
export interface GatewayExtensions {
  /** What the request cost upstream; absent with UPSTREAM_EXTENSIONS=false. */
  upstream?: UpstreamCost | undefined;
  /** Values served as null or replaced, which are no errors. */
  warnings?: DataWarning[] | undefined;
  /** Notes past the 100 listed in `warnings`. */
  warningsOmitted?: number | undefined;
}

/** What the gateway puts in an error's `extensions`: always a code (README "Error codes"), and what upstream said when it said anything. */
export interface GatewayErrorExtensions {
  readonly code: ErrorCode;
  /** Upstream's HTTP status, when the error came from its answer. */
  readonly upstreamStatus?: number | undefined;
  /** Upstream's request id, when its answer named one. */
  readonly upstreamRequestId?: string | undefined;
  /**
   * With UPSTREAM_UNAVAILABLE, when upstream asked for a pause (a `Retry-After` longer than the
   * gateway waits, or a caller it rate-limits), the gateway's circuit is open, or the upstream bodies it holds
   * are at UPSTREAM_MAX_BYTES_IN_FLIGHT: ms to wait before asking again, as the message says. With
   * TOO_MANY_SUBSCRIPTIONS, at a bound that frees by itself.
   */
  readonly retryAfterMs?: number | undefined;
  /** `false` with an UPSTREAM_BAD_RESPONSE that asking again cannot change (a body past the gateway's bound). */
  readonly retryable?: false | undefined;
  readonly [key: string]: unknown;
}

/** One error of a result, as the gateway sends it: tell NOT_FOUND from UPSTREAM_UNAVAILABLE by `extensions.code`. */
export interface GatewayError extends GraphQLFormattedError {
  readonly extensions?: GatewayErrorExtensions;
}

/** A whole GraphQL result: the data that could be served next to the errors of the rest. */
export interface GatewayResult<Data> {
  /** Null only when an error reached the root; otherwise every field that failed is null in it. */
  data: Data | null;
  errors: readonly GatewayError[];
  extensions: GatewayExtensions | undefined;
  status: number;
  headers: Headers;
}

// As graphql-request's `request` takes them (its tuple type is not exported): variables may be left out only when none is required.
type VariablesArgs<V> = {} extends V ? [variables?: V, requestHeaders?: HeadersInit] : [variables: V, requestHeaders?: HeadersInit];

/** `requestResult`'s arguments as one object, as graphql-request's `request` takes them, with a `signal` to abort it. */
export type RequestResultOptions<Data, V extends Variables> = {
  document: TypedDocumentNode<Data, V>;
  requestHeaders?: HeadersInit | undefined;
  signal?: AbortSignal | undefined;
} & ({} extends V ? { variables?: V | undefined } : { variables: V });

type RequestConfig = NonNullable<ConstructorParameters<typeof GraphQLClient>[1]>;

/** What graphql-request's batchRequests resolves to, at the least (its type is not exported). */
type BatchResult = Awaited<ReturnType<(typeof import('graphql-request'))['batchRequests']>>;

/** graphql-request's settings, and the gateway client's own. */
export type GatewayClientConfig = RequestConfig & {
  /**
   * Send each document as its hash, `documentId=sha256:<hex>`, instead of its text (README "Trusted
   * documents"): a GET becomes cacheable and passes TRUSTED_DOCUMENTS=only. A gateway that cannot run
   * the hash (PERSISTED_QUERY_NOT_SUPPORTED or PERSISTED_QUERY_NOT_FOUND) gets the text once more, and
   * from then on. Off unless set; batches send text.
   */
  persistedDocuments?: boolean | undefined;
};

/**
 * `headers` as a plain object, which graphql-request's `setHeader` can add to: names as fetch
 * sends them (lower case), values of a name given twice joined by `, `, as fetch joins them.
 */
function headerRecord(headers: HeadersInit | Headers | ReadonlyArray<ReadonlyArray<string>>): Record<string, string> {
  // Typed by the constructor itself: the DOM's HeadersInit and undici's type an array of pairs differently.
  const merged = new Headers(headers as ConstructorParameters<typeof Headers>[0]);
  const record: Record<string, string> = {};
  // Headers' forEach rather than its iterator: a frontend's compiler settings may leave out DOM.Iterable.
  merged.forEach((value, name) => (record[name] = value));
  return record;
}

/** A headers function with headers set over it (names in lower case): `headers` is the function a request calls. */
interface OverFunction {
  readonly headers: () => HeadersInit;
  readonly set: Record<string, string>;
}

/**
 * `headers`, as a headers function gives them, or the TypeError `unsendableHeader` gives for one fetch cannot send,
 * thrown: fetch's own refusal quoted the value whole (`Headers.append: "Bearer …" is an invalid header value.`), a
 * token in an error's message, which a page logs and reports.
 */
function sendable<T extends HeadersInit>(headers: T): T {
  for (const [name, value] of headerPairs(headers)) {
    const unsendable = unsendableHeader(name, value);
    if (unsendable) throw unsendable;
  }
  return headers;
}

/**
 * Each checked headers function's headers before the check, as pairs. A header another one replaces (one `setHeader`
 * set, or the Authorization of a request that gives its own) is never sent, so it is dropped before the check: checked
 * as the function gave it, a stale token no header can carry refused every request, the refreshed one set over it too.
 */
const uncheckedHeaders = new WeakMap<() => HeadersInit, () => Array<[string, string]>>();

/** What headers function `headers` gives, as pairs, before any check. */
function uncheckedPairs(headers: () => HeadersInit): Array<[string, string]> {
  const unchecked = uncheckedHeaders.get(headers);
  return unchecked ? unchecked() : headerPairs(headers());
}

/** `base`, a headers function, checked each time it is called (`sendable`). */
function checkedHeaderFunction(base: () => HeadersInit): () => HeadersInit {
  const checked = () => sendable(base());
  uncheckedHeaders.set(checked, () => headerPairs(base()));
  return checked;
}

/** The names among `headers`, in lower case: a request's, which replace the client's of those names, in any case. */
function namesOf(headers: HeadersInit | undefined): ReadonlySet<string> {
  return new Set(headerPairs(headers).map(([name]) => name.toLowerCase()));
}

/** `headers` (a function), as a request that gives its own headers `names` sends them: checked without those. */
function withoutFunctionHeaders(headers: () => HeadersInit, names: ReadonlySet<string>): () => HeadersInit {
  return () => headerRecord(sendable(uncheckedPairs(headers).filter(([name]) => !names.has(name.toLowerCase()))));
}

function overHeaderFunction(base: () => HeadersInit): OverFunction {
  const set: Record<string, string> = {};
  const unchecked = () => {
    const replaced = new Set(Object.keys(set));
    return [...uncheckedPairs(base).filter(([name]) => !replaced.has(name.toLowerCase())), ...Object.entries(set)];
  };
  const headers = () => headerRecord(sendable(unchecked()));
  uncheckedHeaders.set(headers, unchecked);
  return { headers, set };
}

/** A headers object with headers set over it (by their names in lower case): `headers` is the object a request reads. */
interface OverObject {
  readonly headers: Record<string, string>;
  readonly set: Map<string, readonly [name: string, value: string]>;
}

/**
 * `given`, with the headers `set` later over it, each in place of any of its name in any case: a view read as a request
 * reads it, as graphql-request reads the object given, so its headers go out as they are then (a getter's or a Proxy's
 * token as it is refreshed, a header the app added or deleted since). A copy made at `setHeader` froze it: a value
 * copied went out stale, a header added later never went out (a token set on sign-in: UNAUTHENTICATED), and one deleted
 * since went out as the text `undefined`.
 */
function overHeaderObject(given: Record<string, string>): OverObject {
  const set = new Map<string, readonly [string, string]>();
  const names = () => [...Object.keys(given).filter((name) => !set.has(name.toLowerCase())), ...[...set.values()].map(([name]) => name)];
  const read = (name: string | symbol): string | undefined => {
    if (typeof name !== 'string') return undefined;
    const over = set.get(name.toLowerCase());
    if (over) return over[0] === name ? over[1] : undefined;
    // Its own enumerable headers only, as a spread reads them: not `constructor` or another member of its prototype.
    return Object.prototype.propertyIsEnumerable.call(given, name) ? given[name] : undefined;
  };
  // A Proxy's target must hold what it reports as non-configurable; reported configurable, its own properties may be any.
  const headers = new Proxy({} as Record<string, string>, {
    ownKeys: () => names(),
    getOwnPropertyDescriptor: (_target, name) => {
      const value = read(name);
      return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
    },
    get: (_target, name) => read(name),
    has: (_target, name) => read(name) !== undefined,
  });
  return { headers, set };
}

/** The text graphql-request sends for a document (its analyzeDocument): a string as it is, a typed string unboxed, a DocumentNode printed. */
function documentText(document: RequestDocument | TypedDocumentNode<unknown, never> | TypedDocumentString<unknown, never>): string {
  if (typeof document === 'string') return document;
  return 'kind' in document ? print(document) : String(document);
}

export class GatewayClient extends GraphQLClient {
  // GraphQLClient keeps its URL private; requestResult needs it for the client it sends through.
  #endpoint: string;
  readonly #persisted: PersistedDocuments | undefined;
  /** Headers given as a function, with what `setHeader` set over them since. */
  #overFunction: OverFunction | undefined;
  /** Headers given as an object, with what `setHeader` set over them since. */
  #overObject: OverObject | undefined;

  /** `endpoint`: the gateway's `/graphql` URL; in a page also relative to it (`/graphql`), which graphql-request alone refuses. */
  constructor(endpoint: string, { persistedDocuments, ...requestConfig }: GatewayClientConfig = {}) {
    // A function's headers are known only as a request calls it: checked then, before fetch quotes a bad value whole.
    const headers = requestConfig.headers as HeadersInit | (() => HeadersInit) | undefined;
    const config = typeof headers === 'function' ? { ...requestConfig, headers: checkedHeaderFunction(headers) } : headers ? { ...requestConfig, headers: requestableHeaders(headers) ?? headers } : requestConfig;
    super(absoluteEndpoint(endpoint), config);
    this.#endpoint = absoluteEndpoint(endpoint);
    this.#persisted = persistedDocuments ? new PersistedDocuments() : undefined;
    // graphql-request's rawRequest is a property set by its constructor, not a method: wrapped here, as
    // `request` is below, or its requestHeaders' Authorization went out joined to the client's.
    const rawRequest = this.rawRequest;
    this.rawRequest = ((queryOrOptions: unknown, variables?: Variables, requestHeaders?: HeadersInit) => {
      // graphql-request's own test for its options object (parseRawRequestArgs).
      const given = (queryOrOptions as { query?: unknown }).query
        ? (queryOrOptions as RawRequestOptions<Variables>)
        : ({ query: queryOrOptions, variables, requestHeaders } as unknown as RawRequestOptions<Variables>);
      const options = { ...given, requestHeaders: requestableHeaders(given.requestHeaders) } as RawRequestOptions<Variables>;
      const unusable = this.#unusableEndpoint() ?? this.#unsendableHeaders(options.requestHeaders, options.query, options.variables);
      if (unusable) return Promise.reject(unusable);
      if (this.#persisted) return this.#persistedClientFor(options.requestHeaders, options.query).then((client) => client.rawRequest(options));
      if (namesOf(options.requestHeaders).size === 0) return rawRequest(options);
      return this.#clientFor(options.requestHeaders).rawRequest(options);
    }) as GraphQLClient['rawRequest'];
  }

  override setEndpoint(value: string): this {
    this.#endpoint = absoluteEndpoint(value);
    // Another gateway: what the last one said of hashes is not this one's word.
    this.#persisted?.forgetGateway();
    return super.setEndpoint(this.#endpoint);
  }

  /**
   * As graphql-request's, except that the header (a refreshed token above all) replaces the one the
   * client had in any case of the name: set beside `authorization` as `Authorization`, fetch joined
   * the two into one header (`Bearer old, Bearer new`) that upstream refuses, UNAUTHENTICATED.
   */
  override setHeader(key: string, value: string): this {
    const headers = this.requestConfig.headers as HeadersInit | (() => HeadersInit) | undefined;
    if (typeof headers === 'function') {
      // graphql-request set the header as a property of the function, which no request reads: a refreshed token never
      // went out. What the function gives, with each header set since in place of any of its name, in any case; one
      // function over it however often a token is refreshed (one wrapping each refresh grew every request's call chain).
      if (this.#overFunction?.headers !== headers) this.#overFunction = overHeaderFunction(headers as () => HeadersInit);
      this.#overFunction.set[key.toLowerCase()] = value;
      this.requestConfig.headers = this.#overFunction.headers;
      return this;
    }
    // Set over the headers given, never into them: graphql-request writes into the object it was given, which may be other
    // clients' too (a BFF's defaults, one client per caller), so one caller's token went out with every client made from them.
    let over = this.#overObject;
    if (!over || over.headers !== headers) {
      // graphql-request sets a header as a property of a plain object: on a Headers or an array (which the config's type
      // allows) the property went nowhere, and a refreshed token was dropped without a word. They become a plain object.
      const given = !headers ? {} : Array.isArray(headers) || headers instanceof Headers ? headerRecord(headers) : (headers as Record<string, string>);
      over = this.#overObject = overHeaderObject(given);
    }
    // Any header, not only Authorization: kept under another case of its name, the old value went out beside the new one,
    // joined by fetch into one header (a Headers gives its names in lower case, so `X-Tenant` never replaced its `x-tenant`).
    over.set.set(key.toLowerCase(), [key, value]);
    this.requestConfig.headers = over.headers;
    return this;
  }

  /**
   * As graphql-request's, in any form fetch takes, as the constructor's `headers`: graphql-request read a Map or another
   * library's Headers as a record of its own properties, so none of its headers went out, its Authorization included.
   */
  override setHeaders(headers: HeadersInit): this {
    return super.setHeaders(requestableHeaders(headers) ?? headers);
  }

  /**
   * As graphql-request's, except that an Authorization among `requestHeaders` (any case, any form)
   * is the request's only one: graphql-request merged the client's headers and the request's as
   * keys, so `authorization` and `Authorization` both went out, joined by fetch into one header
   * (`Bearer old, Bearer new`) that upstream refuses, UNAUTHENTICATED. The client's own is kept
   * for its other requests.
   */
  override request<T = unknown, V extends Variables = Variables>(
    document: RequestDocument | TypedDocumentNode<T, V> | TypedDocumentString<T, V>,
    ...variablesAndRequestHeaders: VariablesArgs<V>
  ): Promise<T>;
  override request<T = unknown, V extends Variables = Variables>(options: RequestOptions<V, T>): Promise<T>;
  override request<T, V extends Variables>(documentOrOptions: unknown, ...rest: [variables?: V, requestHeaders?: HeadersInit]): Promise<T> {
    // graphql-request's own test for its options object: a document is a string, a DocumentNode or a TypedDocumentString.
    const given = (documentOrOptions as { document?: unknown }).document
      ? (documentOrOptions as RequestOptions<V, T>)
      : ({ document: documentOrOptions, variables: rest[0], requestHeaders: rest[1] } as unknown as RequestOptions<V, T>);
    const options = { ...given, requestHeaders: requestableHeaders(given.requestHeaders) } as RequestOptions<V, T>;
    const unusable = this.#unusableEndpoint() ?? this.#unsendableHeaders(options.requestHeaders, documentText(options.document), options.variables);
    if (unusable) return Promise.reject(unusable);
    if (this.#persisted) return this.#persistedClientFor(options.requestHeaders, documentText(options.document)).then((client) => client.request<T, V>(options));
    if (namesOf(options.requestHeaders).size === 0) return super.request<T, V>(options);
    return this.#clientFor(options.requestHeaders).request<T, V>(options);
  }

  /**
   * graphql-request's, held to the same checks as `request` first (the gateway answers any batch BAD_REQUEST, 400):
   * an Authorization no header can carry rejected with fetch's own TypeError, `Headers.append: "Bearer …" is an invalid
   * header value.`, the token in a message a page logs and reports. Its `requestHeaders` are read as `request` reads
   * them, in any form fetch takes, each replacing the client's header of its name in any case.
   */
  override batchRequests<R extends BatchResult, V extends Variables = Variables>(documents: BatchRequestDocument<V>[], requestHeaders?: HeadersInit): Promise<R>;
  override batchRequests<R extends BatchResult, V extends Variables = Variables>(options: BatchRequestsOptions<V>): Promise<R>;
  override batchRequests<R extends BatchResult>(documentsOrOptions: unknown, requestHeaders?: HeadersInit): Promise<R> {
    // graphql-request's own test for its options object (parseBatchRequestArgs).
    const given = (documentsOrOptions as { documents?: unknown }).documents
      ? (documentsOrOptions as BatchRequestsOptions)
      : { documents: documentsOrOptions as BatchRequestDocument[], requestHeaders };
    const options = { ...given, requestHeaders: requestableHeaders(given.requestHeaders) } as BatchRequestsOptions;
    const query = options.documents.map(({ document }) => documentText(document)).join('\n');
    const unusable = this.#unusableEndpoint() ?? this.#unsendableHeaders(options.requestHeaders, query, undefined);
    if (unusable) return Promise.reject(unusable);
    if (namesOf(options.requestHeaders).size === 0) return super.batchRequests<R>(options);
    return this.#clientFor(options.requestHeaders).batchRequests<R>(options);
  }

  /**
   * The TypeError `watchExecution` throws for an endpoint fetch cannot use (`/graphql` in Node,
   * `localhost:4000/graphql`, whose scheme is `localhost:`), or undefined. Checked when a request is sent,
   * not when the client is made, so a module that makes it on a server and uses it in a page still loads:
   * graphql-request failed such requests with a bare `Invalid URL`, or `fetch failed`, which reads as the
   * gateway being down.
   */
  #unusableEndpoint(): TypeError | undefined {
    try {
      httpEndpoint(this.#endpoint);
      return undefined;
    } catch (error) {
      return error as TypeError;
    }
  }

  /**
   * A TypeError naming the header, never its value, for a request with another header fetch cannot send (`unsendableHeader`);
   * the ClientError UNAUTHENTICATED for a request whose Authorization no HTTP header can carry (a control character, a
   * line break inside it, a character past U+00FF: a curly quote pasted with the token), as watchExecution throws it, or
   * undefined. Sent, fetch refused it with a TypeError of its own words (`Cannot convert argument to a ByteString…`),
   * naming no header, which `gatewayErrors` reads as a network failure and a page retried as the gateway being down.
   * Status 0: nothing was sent, so no answer came; the message never holds the token (it holds the request's query and
   * variables, as every graphql-request ClientError's does).
   */
  #unsendableHeaders(requestHeaders: HeadersInit | undefined, query: string, variables: unknown): ClientError | TypeError | undefined {
    const own = headerPairs(this.#ownHeaders());
    const given = headerPairs(requestHeaders);
    // A header the request names, its Authorization above all, replaces the client's of that name (`#clientFor`).
    const replaced = namesOf(requestHeaders);
    const sent = [...own.filter(([name]) => !replaced.has(name.toLowerCase())), ...given];
    for (const [name, value] of sent) {
      // A header fetch cannot send: its words named no header, or quoted the value whole.
      const unsendable = name.toLowerCase() === 'authorization' ? undefined : unsendableHeader(name, value);
      if (unsendable) return unsendable;
    }
    const authorizations = sent.filter(([name]) => name.toLowerCase() === 'authorization');
    if (authorizations.every(([, value]) => headerValue(value) !== undefined)) return undefined;
    const error: GatewayError = {
      message: 'authorization is not a valid Authorization header value: control characters (line breaks included) and characters past U+00FF are not allowed. Nothing was sent: give the token as issued.',
      extensions: { code: 'UNAUTHENTICATED' },
    };
    // No answer came, so no body: ClientError's message carries the response and the request, never the headers.
    return new ClientError({ status: 0, headers: new Headers(), body: '', errors: [error as never] }, variables === undefined ? { query } : { query, variables: variables as Variables });
  }

  /** The headers this client sends with every request, as far as they are known before a request calls a function's. */
  #ownHeaders(): HeadersInit | undefined {
    const headers = this.requestConfig.headers as HeadersInit | (() => HeadersInit) | undefined;
    if (typeof headers !== 'function') return headers;
    // A function's own headers are read by graphql-request as it sends; what setHeader set over them is known.
    return this.#overFunction?.headers === headers ? this.#overFunction.set : undefined;
  }

  /** A client for one request sending `text`: as `#clientFor` makes it, sending the text's hash when it should. */
  async #persistedClientFor(requestHeaders: HeadersInit | undefined, text: string, extra: Partial<RequestConfig> = {}): Promise<GraphQLClient> {
    const persisted = this.#persisted!;
    const hash = await persisted.hashOf(text);
    // Sent as text (the gateway refused hashes, or this one): the text's hash, should a gateway now refuse the text.
    const digest = hash === undefined ? await persisted.digestOf(text) : undefined;
    if (hash === undefined && digest === undefined) return this.#clientFor(requestHeaders, extra);
    // Read per request: the client's own fetch, else the global one as it is now (a test or polyfill may replace it).
    const fetchImpl = (this.requestConfig.fetch as typeof fetch | undefined) ?? ((input, init) => globalThis.fetch(input, init));
    const fetchFor = hash === undefined ? persisted.textFetchFor(digest!, fetchImpl) : persisted.fetchFor(hash, fetchImpl);
    return this.#clientFor(requestHeaders, { ...extra, fetch: fetchFor });
  }

  /**
   * A client with this one's settings and `extra`, for one request with `requestHeaders`: without this
   * client's Authorization when they name one, headers given as a function (called per request) included: kept as they
   * were, theirs went out beside the request's, joined by fetch into one value upstream refuses.
   */
  #clientFor(requestHeaders: HeadersInit | undefined, extra: Partial<RequestConfig> = {}): GraphQLClient {
    const config: RequestConfig = { ...this.requestConfig, ...extra };
    // graphql-request names the DOM's HeadersInit, which a project without the DOM library lacks (its headers are untyped there).
    const headers = config.headers as HeadersInit | (() => HeadersInit) | undefined;
    // Without the headers the request names (a function's too, read per request), in any case: graphql-request merges
    // the two as keys, and fetch joined `x-tenant` and the request's `X-Tenant` (or two tokens) into one header.
    const replaced = namesOf(requestHeaders);
    if (replaced.size > 0 && headers) {
      config.headers = typeof headers === 'function' ? withoutFunctionHeaders(headers, replaced) : headerPairs(headers).filter(([name]) => !replaced.has(name.toLowerCase()));
    }
    return new GraphQLClient(this.#endpoint, config);
  }

  /**
   * The result as the gateway sent it, typed by the document: one failing id of
   * `executions(ids)` is null in `data` with its error in `errors`, and the
   * siblings are there (`request` throws a ClientError for any error). A request
   * the gateway refuses as a whole (a 4xx or 5xx: a document that does not
   * validate, a variable of the wrong type) still throws a ClientError.
   *
   * Takes the document and variables as `request` does: in a row, or as one
   * object, which may carry a `signal` too (aborted: rejects with the signal's
   * reason, an AbortError unless given another, and the gateway cancels the
   * upstream calls it no longer needs).
   */
  requestResult<Data, V extends Variables>(options: RequestResultOptions<Data, V>): Promise<GatewayResult<Data>>;
  requestResult<Data, V extends Variables>(document: TypedDocumentNode<Data, V>, ...rest: VariablesArgs<V>): Promise<GatewayResult<Data>>;
  async requestResult<Data, V extends Variables>(
    documentOrOptions: TypedDocumentNode<Data, V> | RequestResultOptions<Data, V>,
    ...rest: [variables?: V, requestHeaders?: HeadersInit]
  ): Promise<GatewayResult<Data>> {
    // A DocumentNode has `kind`; the options object has `document` instead.
    const { document, variables, requestHeaders: given, signal } =
      'document' in documentOrOptions ? (documentOrOptions as RequestResultOptions<Data, V> & { variables?: V }) : { document: documentOrOptions, variables: rest[0], requestHeaders: rest[1], signal: undefined };
    const requestHeaders = requestableHeaders(given);
    // errorPolicy is a setting of the client, not of one request; a client made per call
    // picks up whatever setHeader/setHeaders changed on this one.
    // An Authorization among `requestHeaders` is the request's only one, as in `request`.
    const query = print(document);
    const unusable = this.#unusableEndpoint() ?? this.#unsendableHeaders(requestHeaders, query, variables);
    if (unusable) throw unusable;
    const partial = this.#persisted ? await this.#persistedClientFor(requestHeaders, query, { errorPolicy: 'all' }) : this.#clientFor(requestHeaders, { errorPolicy: 'all' });
    // rawRequest's types take a query string only (graphql-request prints a DocumentNode the same way). Its
    // options type decides from V whether `variables` is required: V is generic here, the overloads above decided.
    const options = { query, variables, requestHeaders, signal } as unknown as RawRequestOptions<V>;
    const response = await partial.rawRequest<Data, V>(options);
    return {
      data: response.data ?? null,
      // graphql-request types them as GraphQLError instances; they are the JSON the gateway sent.
      errors: (response.errors ?? []) as unknown as readonly GatewayError[],
      // The gateway's contract, trusted as `Data` is: graphql-request types extensions as unknown.
      extensions: response.extensions as GatewayExtensions | undefined,
      status: response.status,
      headers: response.headers,
    };
  }
}

/**
 * The gateway's errors that `error` carries, typed: the `response.errors` of the
 * ClientError graphql-request throws (from `request`, for a result with any
 * error; from both methods, for a request refused as a whole: a 400 for a
 * document or variable that does not validate, a 401 without a token…), which
 * graphql-request types as GraphQLError instances with `unknown` extensions, so
 * a caller switches on `extensions.code` (an ErrorCode) without a cast.
 *
 * UNAUTHENTICATED, with `response.status` 0, for an Authorization no HTTP header can carry, refused before anything
 * is sent. Empty for anything else: a network failure (a TypeError from fetch), an
 * aborted request (an AbortError), a ClientError whose answer held no GraphQL
 * errors (a proxy's 502 page). `error.response.data` stays graphql-request's;
 * `requestResult` gives the data typed by the document.
 */
export function gatewayErrors(error: unknown): readonly GatewayError[] {
  if (!(error instanceof ClientError)) return [];
  const errors: unknown = error.response.errors;
  if (!Array.isArray(errors)) return [];
  // The JSON the gateway sent, trusted as requestResult trusts it; anything not shaped as an error is left out.
  return errors.filter((each): each is GatewayError => typeof each === 'object' && each !== null && typeof (each as { message?: unknown }).message === 'string');
}

/**
 * A client of the gateway at `endpoint` (its `/graphql` URL; in a page, relative to the page's address
 * too, such as `/graphql` behind a development server's proxy) sending `authorization` (`Bearer …`) and
 * `headers` (a record, a Headers, an array or another iterable of pairs, as fetch takes them) with every request; an Authorization among
 * `headers`, in any case, gives way to `authorization`.
 * `options`: graphql-request's other settings (`method: 'GET'`, `fetch`, …) and `persistedDocuments`.
 */
export function createGatewayClient(
  endpoint: string,
  authorization?: string,
  headers: HeadersInit = {},
  options: Omit<GatewayClientConfig, 'headers'> = {},
): GatewayClient {
  // Given as they are, read per request as graphql-request reads them (a record's getter's token as it is refreshed, a
  // header added later): a copy made here read them once. Node's 'fetch failed' says why in its message (`fetch failed
  // (connect ECONNREFUSED 127.0.0.1:4000)`), as watchExecution's does: a BFF's log of `error.message` said only 'fetch
  // failed', the reason left in `error.cause`.
  const client = new GatewayClient(endpoint, { ...options, fetch: causeTelling(options.fetch as typeof fetch | undefined), headers });
  // Over the headers' own Authorization, in any case, as a refreshed token is set. An empty authorization sends none, as
  // before: the headers' own, if any, is kept.
  if (authorization) client.setHeader('authorization', authorization);
  return client;
}
