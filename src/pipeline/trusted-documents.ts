/**
 * Trusted documents (TRUSTED_DOCUMENTS, README "Trusted documents"). The
 * manifest, schema/persisted-documents.json, holds every operation of
 * schema/operations/ as the typed client sends it, under the sha256 of that
 * exact text; `npm run generate` writes it (scripts/persisted-documents.ts).
 *
 * - `off`: a request sends its text; one that sends only a hash is told
 *   that persisted documents are off (PERSISTED_QUERY_NOT_SUPPORTED, on
 *   which Apollo's and urql's links send the text).
 * - `allow`: a request names a manifest document by its hash or sends any
 *   text. A hash that is not in the manifest is PERSISTED_QUERY_NOT_FOUND
 *   (Apollo's code, on which its clients retry with the text); a hash sent
 *   with a text never adds anything to the manifest.
 * - `only`: a request runs a manifest document, named by its hash or sent as
 *   its exact text, or nothing: any other text, introspection included, is
 *   PERSISTED_QUERY_NOT_IN_LIST, refused before it is parsed or looked up in
 *   any cache, so a document the fast lane has cached is refused all the
 *   same. GraphiQL is not served (404).
 *
 * A hash travels as `extensions.persistedQuery.sha256Hash` (Apollo's
 * convention, version 1) or as `documentId` (GraphQL over HTTP's persisted
 * documents: `sha256:<hex>`, or the bare hex), in a JSON body, a GET's
 * query string or a form body, and over every transport, since each one goes through this
 * pipeline (WebSocket operations and SSE included). A `documentId` that is not a
 * string, or one that disagrees with `sha256Hash` when no text is sent, is
 * BAD_REQUEST (400) in every mode, and so are `extensions` that are no object.
 *
 * Yoga's persisted-operations plugin does the lookup, the allow/only switch
 * and the errors. One onParams hook of ours runs before it: Yoga's plugin
 * reads neither `documentId` nor a manifest document sent as text (it refuses
 * all text when arbitrary operations are off, and its `allowArbitraryOperations`
 * sees the request, not its parameters), so the hook turns both into the
 * `persistedQuery` extension that plugin reads.
 */
import { readFileSync } from 'node:fs';
import { defaultExtractPersistedOperationId, usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError, validate } from 'graphql';
import { isPromise, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { SecurityConfig } from '../config.js';
import { badRequest, ErrorCode, persistedDocumentNotFound, persistedDocumentsOff, refusedBeforeParsing } from '../errors.js';
import { ConfigError } from '../config.js';
import { schema } from '../schema/index.js';
import { isFormPost } from '../media-type.js';
import { manifestKeysProblem } from './document-hash.js';
import { parseWithinLimits, requestRules, type RuleSettings } from './operation-limits.js';

export type TrustedDocumentsMode = SecurityConfig['trustedDocuments'];

/** The settings a manifest document is validated under: those its requests are validated under (the introspection switch, the operation limits). */
export type ManifestSettings = RuleSettings;

/** The manifest codegen writes: document text by the lowercase hex sha256 of that text. */
export const MANIFEST_URL = new URL('../../schema/persisted-documents.json', import.meta.url);

/**
 * The manifest as a map from hash to document; throws, naming the file, when it is not `{ "<hash>": "<document>" }`
 * or holds a document a gateway with these settings refuses.
 */
export function readManifest(settings: ManifestSettings, url: URL = MANIFEST_URL): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(url, 'utf8'));
  } catch (error) {
    // The manifest is committed, so a missing one is most often a deployment that shipped dist/ without schema/ (README
    // "Production build"), where `npm run generate` cannot run (its tools pruned) and would not be the fix.
    // Another file error (EACCES, EISDIR) is the host's to fix: `npm run generate` neither could nor would; only a
    // manifest read but no JSON (SyntaxError, no errno code) is one to write again.
    const code = (error as NodeJS.ErrnoException).code;
    const fix =
      code === 'ENOENT'
        ? '. Deploy schema/persisted-documents.json of the release with dist/ (schema/ beside dist/), or set TRUSTED_DOCUMENTS=off'
        : code === undefined
          ? ': run npm run generate.'
          : '. Make it a file the user the gateway runs as can read, or set TRUSTED_DOCUMENTS=off';
    throw new ConfigError(`TRUSTED_DOCUMENTS needs the persisted-documents manifest ${url.pathname}: ${(error as Error).message}${fix}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((each) => typeof each === 'string')) {
    throw new ConfigError(`${url.pathname} is not a persisted-documents manifest ({ "<sha256>": "<document>" }): run npm run generate.`);
  }
  const documents = new Map(Object.entries(parsed as Record<string, string>));
  const problem = manifestProblem(documents, settings);
  if (problem) throw new ConfigError(`${url.pathname}: ${problem}: run npm run generate.`);
  return documents;
}

/**
 * Why readManifest refuses the manifest, as its one line, or undefined: for start-up to refuse it with the settings'
 * own mistakes (readConfig's `manifest`), not one start after them.
 */
export function manifestRefusal(settings: ManifestSettings, url: URL = MANIFEST_URL): string | undefined {
  try {
    readManifest(settings, url);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

/**
 * What makes a manifest unusable, checked at start-up rather than on the first
 * request that names a document: a key that is not its text's hash (clients
 * hashing the text would never find it), a document that does not parse or
 * validate as a request does under these settings (graphql-js's own rules alone
 * passed a mutation, which this schema has none of, and 41 aliases: every request
 * naming them was refused), or no document at all (`only` would run nothing).
 */
function manifestProblem(documents: ReadonlyMap<string, string>, settings: ManifestSettings): string | undefined {
  if (documents.size === 0) return 'holds no document';
  const keys = manifestKeysProblem(documents);
  if (keys) return keys;
  const rules = requestRules(settings);
  for (const [key, text] of documents) {
    let errors: readonly GraphQLError[];
    try {
      errors = validate(schema, parseWithinLimits(text, settings.limits), rules);
    } catch (error) {
      errors = [error as GraphQLError];
    }
    if (errors.length > 0) return `the document under ${key} is refused on every request: ${errors[0]!.message}`;
  }
  return undefined;
}

const NOT_IN_LIST_MESSAGE =
  'Only persisted documents run here (TRUSTED_DOCUMENTS=only): send the sha256 of a document of the gateway\'s manifest as `extensions.persistedQuery.sha256Hash` or `documentId`, or that document\'s exact text. A new operation runs once it is in the manifest of the release deployed (schema/persisted-documents.json, written by `npm run generate` from schema/operations/).';
/**
 * The refusal of a text that asks for introspection (`__schema`, `__type`; read as text, not parsed, so a string
 * holding those words gets it too): codegen and schema registries print the message, and the general one says
 * nothing they can act on.
 */
const INTROSPECTION_NOT_IN_LIST_MESSAGE =
  'Only persisted documents run here (TRUSTED_DOCUMENTS=only), and introspection is none of them: take the schema from schema/schema.graphql of the release this gateway runs, or introspect a gateway that serves it (TRUSTED_DOCUMENTS=allow or off, with INTROSPECTION=true).';
const ASKS_INTROSPECTION = /\b__(?:schema|type)\b/;
const NO_DOCUMENT_MESSAGE = 'Must provide a query string, or the hash of a persisted document as `extensions.persistedQuery.sha256Hash` or `documentId`.';
const DOCUMENT_ID_NOT_TEXT = '`documentId` must be a string: `sha256:<hex>`, or the bare hex.';
const TWO_HASHES = '`documentId` and `extensions.persistedQuery.sha256Hash` name different documents: send one of them.';
// Apollo Server's words first ("Unsupported persisted query version"), so clients and searches that know them match.
const UNSUPPORTED_VERSION =
  'Unsupported persisted query version: send `extensions.persistedQuery.version` as 1, the only version of automatic persisted queries (Apollo\'s protocol), or the hash as `documentId`.';

type Params = GraphQLParams & { documentId?: unknown };

const hasText = (params: GraphQLParams): params is GraphQLParams & { query: string } => typeof params.query === 'string' && params.query !== '';

/**
 * `documentId` from a GET's query string or a form body (POST `application/x-www-form-urlencoded`), put among the
 * parameters as a JSON body's is: Yoga's GET and form parsers keep only the four standard ones. Read as they read
 * `query`, names decoded: `document%49d=` is the same parameter, and looking for the text `documentId=` lost it.
 * A form's text is the one Yoga's parser read, which the body keeps (@whatwg-node/fetch); a JSON body's
 * `documentId` is there already. In every mode: with `off`, a hash alone is told so (useNoDocumentIds).
 */
export function useDocumentIdParameter(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser) return;
      const form = isFormPost(request);
      if (request.method !== 'GET' && !form) return;
      setRequestParser((each) => {
        const parsed = requestParser(each);
        const withId = (params: Parsed, search: string) => {
          // A list or an answer (neither comes from these two parsers) is left as it is; so is a request with a
          // text, which wins over any hash (useDocumentIds), so that a GET's query string is not read twice.
          if (Array.isArray(params) || !isParams(params) || (typeof params.query === 'string' && params.query !== '')) return params;
          const documentId = new URLSearchParams(search).get('documentId');
          return documentId === null ? params : { ...params, documentId };
        };
        if (form) return Promise.resolve(parsed).then((params) => each.text().then((text) => withId(params, text)));
        const start = each.url.indexOf('?');
        const search = start === -1 ? '' : each.url.slice(start + 1);
        // Yoga's GET parser answers at once; so does this.
        return isPromise(parsed) ? parsed.then((params) => withId(params, search)) : withId(parsed, search);
      });
    },
  };
}

type Parsed = GraphQLParams | GraphQLParams[] | Response;

const isParams = (parsed: Parsed): parsed is GraphQLParams => typeof parsed === 'object' && parsed !== null && !('status' in parsed);

/** The manifest key a `documentId` names: `sha256:<hex>` or the bare hex; anything else names no document. */
function hashOf(documentId: string): string {
  return documentId.startsWith('sha256:') ? documentId.slice('sha256:'.length) : documentId;
}

/**
 * The manifest key a hash names, in either case: hex digits name the same bytes in upper case (RFC 4648 §8 writes
 * base16 in upper case; `sha256sum`, Node and Apollo's clients in lower), so a client that wrote them so gets its
 * document rather than PERSISTED_QUERY_NOT_FOUND for a spelling. Any other string stays a key no document has.
 */
const manifestKey = (hash: string) => hash.toLowerCase();

/**
 * Throws BAD_REQUEST when a request with no text names its document by a `persistedQuery` extension of a version
 * other than 1 (a number 1: `"1"`, 2 or none are not): the extension's meaning is Apollo's, and only its version 1
 * is one. Yoga's plugin reads no other, and answered "Must provide a query string, or the hash …" to a request that
 * had sent the hash. A text wins over any hash, as it does over one of version 1.
 */
function checkPersistedQueryVersion(params: GraphQLParams): void {
  const persistedQuery: unknown = params.extensions?.persistedQuery;
  if (hasText(params) || typeof persistedQuery !== 'object' || persistedQuery === null) return;
  if ((persistedQuery as { version?: unknown }).version !== 1) throw badRequest(UNSUPPORTED_VERSION);
}

/**
 * The `documentId` of `params` when it names a document, null when it is absent or null (JSON's way of leaving it
 * out). Throws BAD_REQUEST when it is not a string (a number or an object names nothing: GraphQL over HTTP's
 * persisted documents are strings), whatever else the request sends, in every mode.
 */
function documentIdOf(params: GraphQLParams): string | null {
  const documentId = (params as Params).documentId;
  if (documentId == null) return null;
  if (typeof documentId !== 'string') throw badRequest(DOCUMENT_ID_NOT_TEXT);
  return documentId;
}

/**
 * Throws BAD_REQUEST, in Yoga's words, when `extensions` is there but no object (an array, a string, a number).
 * Yoga checks that only after these hooks, on what they leave: a hash merged into the `persistedQuery` extension
 * made an object of any value, and the document ran, where the same request with the text was refused. So it is
 * checked first, whatever else the request sends and in every mode, as `documentId`'s type is.
 */
function checkExtensions(params: GraphQLParams): void {
  const extensions: unknown = params.extensions;
  if (extensions == null || (typeof extensions === 'object' && !Array.isArray(extensions))) return;
  throw badRequest(`Expected "extensions" param to be empty or an object, but given ${Array.isArray(extensions) ? 'array' : typeof extensions}.`);
}

function byHash(params: GraphQLParams, hash: string): GraphQLParams {
  const { query: _text, ...rest } = params;
  return { ...rest, extensions: { ...rest.extensions, persistedQuery: { version: 1, sha256Hash: hash } } };
}

/**
 * Reads the hash wherever a client put it, and in `only` mode takes a
 * manifest document's exact text as its hash, so that Yoga's plugin, next,
 * sees one form. A text always wins over a hash sent with it.
 */
function useDocumentIds(mode: TrustedDocumentsMode, hashByText: ReadonlyMap<string, string>): Plugin {
  return {
    onParams({ params, setParams }) {
      let next: GraphQLParams = params;
      const documentId = documentIdOf(params);
      checkExtensions(params);
      checkPersistedQueryVersion(params);
      if (documentId !== null) {
        // Yoga refuses parameters it does not know, so `documentId` goes whatever happens next.
        const { documentId: _id, ...rest } = params as Params;
        if (hasText(rest)) next = rest;
        else {
          const hash = hashOf(documentId);
          // Two hashes that disagree: running either one would be a guess at what the client meant.
          const sent: unknown = (rest.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
          if (sent !== undefined && (typeof sent !== 'string' || manifestKey(sent) !== manifestKey(hash))) throw badRequest(TWO_HASHES);
          next = byHash(rest, hash);
        }
      }
      if (mode === 'only' && hasText(next)) {
        const hash = hashByText.get(next.query);
        if (hash !== undefined) next = byHash(next, hash);
      }
      if (next !== params) setParams(next);
    },
  };
}

/**
 * With `off`, a request that sends only a hash (`documentId`, or Apollo's
 * `persistedQuery` extension) would hear `Unexpected parameter "documentId"`
 * or "Must provide query string.", neither of which says that this gateway
 * keeps no documents, nor is what clients of automatic persisted queries fall
 * back to the text on: a 400 with Apollo's PersistedQueryNotSupported, code
 * and message (src/errors.ts).
 *
 * A text sent with a hash runs, as in the other modes: the text wins. A JSON
 * body's `documentId` goes before Yoga sees it, since Yoga refuses parameters
 * it does not know (400 `Unexpected parameter "documentId"`), while the same
 * request by GET or form, or with the hash in `extensions`, ran its text.
 */
function useNoDocumentIds(): Plugin {
  return {
    onParams({ params, setParams }) {
      const documentId = documentIdOf(params);
      checkExtensions(params);
      if (hasText(params)) {
        if ((params as Params).documentId !== undefined) {
          const { documentId: _id, ...rest } = params as Params;
          setParams(rest);
        }
        return;
      }
      const persistedQuery: unknown = params.extensions?.persistedQuery;
      if (documentId !== null || (typeof persistedQuery === 'object' && persistedQuery !== null)) throw persistedDocumentsOff();
    },
  };
}

/** The plugins TRUSTED_DOCUMENTS asks for: with `off`, only the one that explains a hash is not taken. */
export function useTrustedDocuments(security: Pick<SecurityConfig, 'trustedDocuments'> & ManifestSettings): Plugin[] {
  const mode = security.trustedDocuments;
  if (mode === 'off') return [useNoDocumentIds()];
  const manifest = readManifest(security);
  const hashByText = new Map([...manifest].map(([hash, text]) => [text, hash]));
  return [
    useDocumentIds(mode, hashByText),
    usePersistedOperations({
      // An empty hash (`""`, `documentId: "sha256:"`) names no document, as none does: BAD_REQUEST, where Yoga looked it
      // up and answered PERSISTED_QUERY_NOT_FOUND, whose advice is to send the text of a document never named.
      extractPersistedOperationId: (params, request, context) => defaultExtractPersistedOperationId(params, request, context) || null,
      getPersistedOperation: (hash) => manifest.get(manifestKey(hash)) ?? null,
      allowArbitraryOperations: mode === 'allow',
      customErrors: {
        notFound: () => persistedDocumentNotFound(mode),
        persistedQueryOnly: ({ params }) =>
          refusedBeforeParsing(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, typeof params.query === 'string' && ASKS_INTROSPECTION.test(params.query) ? INTROSPECTION_NOT_IN_LIST_MESSAGE : NOT_IN_LIST_MESSAGE),
        keyNotFound: () => badRequest(NO_DOCUMENT_MESSAGE),
      },
    }) as Plugin,
  ];
}
