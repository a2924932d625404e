/**
 * Who a caller is, for everything the gateway keeps or bounds per caller: the
 * header it sends upstream, and the one key (`Caller.key` below) of its
 * calls in flight, its cached executions (here and in Redis), its live pollers,
 * leases and updates, its share of the upstream bulkhead, its live
 * subscriptions, the pauses a `Retry-After` asked of it, and whose failures the
 * circuit breaker counts (`UPSTREAM_BREAKER_MIN_CALLERS`).
 *
 * The auth scheme is case-insensitive and any run of spaces may separate it from
 * the credentials (RFC 9110 §11.1, RFC 6750 §2.1: `Bearer 1*SP b64token`), so
 * `Bearer x`, `bearer x` and `Bearer   x` are one token. Keyed by the exact
 * header, each spelling was a caller of its own: a pause recorded in Redis under
 * one spelling was not seen by another replica's poller of the other, two
 * replicas both held a lease of one execution for one token (two upstream calls
 * per tick), and one process ran a poller per spelling.
 *
 * So the header is put in one form as it arrives, and that form is both what
 * every key is made from and what upstream is sent: what one spelling loaded or
 * was told is exactly what upstream answers the other. The form is upstream's
 * documented one, `Bearer <token>`, so an upstream that reads only that spelling
 * serves every spelling the RFCs allow; the token itself is never changed (its
 * case counts).
 */
import { hash } from 'node:crypto';
import { TCHAR } from '../http-token.js';

/**
 * `value` without the spaces and tabs around it (RFC 9110 §5.6.3 `OWS`). By hand: `/[ \t]+$/` tries the rest of a run
 * from each of its spaces, so a long run inside a token cost time in the square of its length, on the event loop, to
 * anyone who can send a header.
 */
function withoutOptionalWhitespace(value: string): string {
  const isOws = (index: number) => value[index] === ' ' || value[index] === '\t';
  let start = 0;
  let end = value.length;
  while (start < end && isOws(start)) start++;
  while (end > start && isOws(end - 1)) end--;
  return value.slice(start, end);
}

/**
 * Whether the header names a caller at all: not when it is absent, empty, or only spaces and tabs, which are no
 * part of a field value (RFC 9110 §5.5). Decided here by the rule `canonicalAuthorization` reads it with, so a value
 * of only a no-break space is a (made-up) token sent upstream as it came, as one ending in one is, and not no caller.
 */
export function namesCaller(authorization: string | null | undefined): authorization is string {
  return authorization != null && withoutOptionalWhitespace(authorization) !== '';
}

/** An auth scheme (a `token`, RFC 9110 §5.6.2), then the spaces before its credentials. */
const SCHEME_AND_SPACES = new RegExp(`^(${TCHAR}+)[ \\t]+`);

/**
 * The header in the one form the gateway keys and forwards: `Bearer`, one space
 * and the credentials as sent when the scheme is `bearer` in any case (`Bearer`
 * alone when it has none). Any other value (another scheme, which upstream
 * refuses, or no scheme) is kept as it is, without spaces or tabs around it.
 */
export function canonicalAuthorization(authorization: string): string {
  // HTTP's optional whitespace only (RFC 9110 §5.5): trim() also drops U+00A0, which a token may end with.
  const value = withoutOptionalWhitespace(authorization);
  const match = SCHEME_AND_SPACES.exec(value);
  if (match) return match[1]!.toLowerCase() === 'bearer' ? `Bearer ${value.slice(match[0].length)}` : value;
  return /^bearer$/i.test(value) ? 'Bearer' : value;
}

/**
 * The caller: their Authorization header in the one form each token has
 * (`canonicalAuthorization` above), forwarded to upstream, and the key under which
 * everything kept or counted per caller beyond this request is kept.
 */
export interface Caller {
  /** The header as upstream is sent it: `canonicalAuthorization` of what the client sent. */
  readonly authorization: string;
  /**
   * A hash of `authorization`: the one key of everything kept and counted per caller, in this process (calls in
   * flight, the cache, live pollers and subscriptions, its share of the bulkhead, its pauses, the breaker's
   * callers); Redis keys use an HMAC of `authorization` (src/shared-state/redis-store.ts). Never the token
   * itself, so tokens are not kept as keys in memory dumps or logs.
   */
  readonly key: string;
}

/**
 * The caller who sent `sent` (a non-empty header, `namesCaller`). The key is
 * hashed on first use: a request answered without upstream work needs none.
 * The one-shot `hash` (Node 20.12+) skips the Hash object.
 */
export function callerOf(sent: string): Caller {
  const authorization = canonicalAuthorization(sent);
  let key: string | undefined;
  return {
    authorization,
    get key() {
      return (key ??= hash('sha256', authorization, 'base64url'));
    },
  };
}
