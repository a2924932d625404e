/**
 * Upstream's Retry-After (RFC 9110 §10.2.3) read into milliseconds: the pauses
 * it sets (./caller-pauses.ts) and the errors that tell clients how long
 * (src/errors.ts `errorForUpstreamStatus`).
 */
import { httpDateMs } from '../http-date.js';

/**
 * Longest Retry-After read (ms) at most, whatever UPSTREAM_PAUSE_MAX_MS says: a day. 400 digits read as
 * Infinity, which reached clients as `retryAfterMs: null` and "the next Infinity s".
 */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Parses Retry-After (RFC 9110 §10.2.3: delay-seconds, 1*DIGIT, or an
 * HTTP-date) into milliseconds from now, at most `maxMs` (UPSTREAM_PAUSE_MAX_MS;
 * MAX_RETRY_AFTER_MS when not given); undefined, as if absent, for any other
 * value: reading "1.5" or "-5" as a date made an immediate retry.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now(), maxMs = MAX_RETRY_AFTER_MS): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, maxMs);
  const date = httpDateMs(text, now);
  return date === undefined ? undefined : Math.min(Math.max(0, date - now), maxMs);
}
