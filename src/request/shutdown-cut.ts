/**
 * Responses the drain cut when SHUTDOWN_GRACE_MS ran out (src/server/drain.ts),
 * told apart from a client that left: their requests end as SHUTTING_DOWN, not
 * CLIENT_CLOSED_REQUEST, and an operator searching the access log for what a
 * deploy cut finds them there instead of among client hang-ups. A WeakSet by
 * response: the drain and a request's scope share nothing else, and an entry
 * goes with its response.
 */
const cut = new WeakSet<object>();

export function markCutByShutdown(response: object): void {
  cut.add(response);
}

export function wasCutByShutdown(response: object): boolean {
  return cut.has(response);
}

/** Why a request's client is gone: it left, or the drain cut its connection. */
export type GoneCause = 'left' | 'shutdown';
