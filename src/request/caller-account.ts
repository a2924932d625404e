/**
 * Whose token an Authorization header carries, for everything the gateway
 * bounds or judges per caller: a caller's share of the upstream bulkhead, its
 * live subscriptions, the pause a `429` with `Retry-After` asked of it, and
 * whose failures the circuit breaker counts (`UPSTREAM_BREAKER_MIN_CALLERS`).
 *
 * The auth scheme is case-insensitive and any run of spaces may separate it from
 * the credentials (RFC 9110 §11.1, RFC 6750 §2.1: `Bearer 1*SP b64token`), so
 * `Bearer x`, `bearer x` and `Bearer   x` are one token to an upstream that
 * reads them as the RFCs say. Counted by the exact header, each spelling was a
 * caller of its own: one token took a share, 100 live subscriptions and a pause
 * per spelling, and its own failures, sent in two spellings, were two callers'
 * and opened the circuit for everyone.
 *
 * Only the accounting is merged. What is shared between requests (calls in
 * flight, the cache, live pollers, Redis keys) stays keyed by the exact header,
 * which is what upstream is sent: an upstream that refuses a spelling refuses it
 * for every request that sends it.
 */

/** An auth scheme (a `token`, RFC 9110 §5.6.2), then the spaces before its credentials. */
const SCHEME_AND_SPACES = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]+/;

/**
 * The header as one token, however it was spelt: the scheme in lower case and
 * one space before the credentials, which keep their case (a token is
 * case-sensitive). A value that is no `scheme credentials` pair is kept as it is,
 * trimmed.
 */
export function accountOf(authorization: string): string {
  const value = authorization.trim();
  const match = SCHEME_AND_SPACES.exec(value);
  if (match) return `${match[1]!.toLowerCase()} ${value.slice(match[0].length)}`;
  // `Bearer` with no token, in any case: one caller (upstream refuses it alike). Other bare values may be
  // credentials of their own, whose case counts.
  return /^bearer$/i.test(value) ? 'bearer' : value;
}
