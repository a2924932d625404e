/**
 * The typed client's persisted documents (`persistedDocuments: true`): each
 * request names its document by hash, `documentId=sha256:<hex>` (GraphQL over
 * HTTP's persisted documents), instead of sending its text. The hash is the
 * lowercase hex sha256 of the exact text graphql-request would send (graphql-js's
 * `print` of a typed document), which is the key of schema/persisted-documents.json
 * (README "Trusted documents"). What it buys: a GET that a CDN can cache and that
 * TRUSTED_DOCUMENTS=only accepts (graphql-request collapses a GET's text into one
 * line, which is no manifest text), and a request body of ~100 bytes.
 *
 * Hand-written because graphql-request has no persisted-documents mode, and its
 * request middleware runs before a GET's parameters are added to the URL: the
 * rewrite happens in the fetch it is given.
 *
 * A gateway that cannot run the hash answers 400 and the request is sent again
 * with its text, once, as Apollo's and urql's links do:
 * - PERSISTED_QUERY_NOT_SUPPORTED (TRUSTED_DOCUMENTS=off): this client sends
 *   text from then on;
 * - PERSISTED_QUERY_NOT_FOUND (a manifest without that document, a client newer
 *   than the gateway): text for that document from then on;
 * until a gateway refuses that text with PERSISTED_QUERY_NOT_IN_LIST (TRUSTED_DOCUMENTS=only, rolled out
 * since): the hash is sent again, at once and from then on.
 * Where Web Crypto is missing (a page over plain http on a host other than
 * localhost), the text is sent.
 */
import type { FetchInput } from './fetch-types.js';

/** Which of the client's documents it sends as text, and whether it hashes at all; one per client. */
export class PersistedDocuments {
  /** The gateway said persisted documents are off: text for every document. */
  #off = false;
  /** Hashes the gateway did not know. */
  readonly #unknown = new Set<string>();
  readonly #hashes = new Map<string, Promise<string | undefined>>();

  /**
   * Forgets what the gateway said of hashes (off, or not knowing some): another gateway answers from now on
   * (`setEndpoint`). Kept, an earlier gateway's `off` had every request to the new one sent as text.
   */
  forgetGateway(): void {
    this.#off = false;
    this.#unknown.clear();
  }

  /**
   * The lowercase hex sha256 of `text`, or undefined when it is to be sent as text: the gateway
   * refused hashes, did not know this one, or there is no Web Crypto.
   */
  async hashOf(text: string): Promise<string | undefined> {
    if (this.#off) return undefined;
    const hex = await this.digestOf(text);
    return hex === undefined || this.#unknown.has(hex) ? undefined : hex;
  }

  /** The lowercase hex sha256 of `text`, whether or not it is sent; undefined without Web Crypto. */
  digestOf(text: string): Promise<string | undefined> {
    let hash = this.#hashes.get(text);
    if (hash === undefined) {
      // Operations are few and fixed in a frontend; a client sent ad hoc texts starts over past the bound.
      if (this.#hashes.size >= MAX_KEPT_HASHES) this.#hashes.clear();
      hash = sha256Hex(text);
      this.#hashes.set(text, hash);
    }
    return hash;
  }

  /**
   * `fetch` that sends a request with its text, `hash` being that text's, as it is; when the gateway refuses the text
   * because it runs persisted documents only (PERSISTED_QUERY_NOT_IN_LIST: a fleet rolled out to TRUSTED_DOCUMENTS=only
   * since a replica said hashes were off or did not know this one), it sends the hash instead, and from then on.
   * Remembered for good, either refusal left a GET, whose text graphql-request sends on one line (no manifest text),
   * refused on every such gateway until the client was made again.
   */
  textFetchFor(hash: string, fetchImpl: typeof fetch): typeof fetch {
    return (async (input: FetchInput, init?: RequestInit) => {
      const response = await fetchImpl(input, init);
      if (response.status !== 400 || (await refusalCode(response.clone())) !== 'PERSISTED_QUERY_NOT_IN_LIST') return response;
      if (withDocumentId(input, init, `sha256:${hash}`) === undefined) return response;
      this.#off = false;
      this.#unknown.delete(hash);
      // Refused as a hash too, the text is not sent a third time: this gateway refused it already, in its own words.
      return this.fetchFor(hash, fetchImpl, response)(input, init);
    }) as typeof fetch;
  }

  /**
   * `fetch` that sends `hash` in place of the request's text (a POST's JSON `query`, a GET's
   * `query` parameter) and, when the gateway refuses the hash, the original request; or, given `textRefused` (the
   * gateway's refusal of that text, just received), that refusal.
   */
  fetchFor(hash: string, fetchImpl: typeof fetch, textRefused?: Response): typeof fetch {
    return (async (input: FetchInput, init?: RequestInit) => {
      const named = withDocumentId(input, init, `sha256:${hash}`);
      if (named === undefined) return fetchImpl(input, init);
      const response = await fetchImpl(named.input, named.init);
      if (response.status !== 400) return response;
      const code = await refusalCode(response.clone());
      if (code === 'PERSISTED_QUERY_NOT_SUPPORTED') this.#off = true;
      else if (code === 'PERSISTED_QUERY_NOT_FOUND') {
        if (this.#unknown.size >= MAX_KEPT_HASHES) this.#unknown.clear();
        this.#unknown.add(hash);
      } else return response;
      return textRefused ?? fetchImpl(input, init);
    }) as typeof fetch;
  }
}

const MAX_KEPT_HASHES = 1000;

/** Web Crypto's digest, as much of it as is used here: named structurally, since a Node project without the DOM library lacks `SubtleCrypto`. */
interface Digest {
  digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer>;
}

async function sha256Hex(text: string): Promise<string | undefined> {
  const subtle = (globalThis as { crypto?: { subtle?: Digest } }).crypto?.subtle;
  if (subtle === undefined) return undefined;
  const digest = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** The request with `documentId` in place of its text, or undefined when it carries none that this client can replace. */
function withDocumentId(input: FetchInput, init: RequestInit | undefined, documentId: string): { input: FetchInput; init: RequestInit | undefined } | undefined {
  const method = (init?.method ?? 'GET').toUpperCase();
  if (method === 'GET') {
    // graphql-request hands fetch a URL object; a string is taken as well.
    if (!(input instanceof URL) && typeof input !== 'string') return undefined;
    const url = new URL(input);
    if (!url.searchParams.has('query')) return undefined;
    url.searchParams.delete('query');
    url.searchParams.set('documentId', documentId);
    return { input: url, init };
  }
  if (typeof init?.body !== 'string') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(init.body);
  } catch {
    return undefined;
  }
  // A batch (an array) keeps its texts: a hash is per operation.
  if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof (body as { query?: unknown }).query !== 'string') return undefined;
  const { query: _text, ...rest } = body as Record<string, unknown>;
  return { input, init: { ...init, body: JSON.stringify({ ...rest, documentId }) } };
}

/** The code of a refusal's single error, when the body is GraphQL JSON with no data. */
async function refusalCode(response: Response): Promise<unknown> {
  try {
    const body = (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: unknown } }> };
    return body.data == null && body.errors?.length === 1 ? body.errors[0]?.extensions?.code : undefined;
  } catch {
    return undefined;
  }
}
