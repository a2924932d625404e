/**
 * Responses the drain cut when SHUTDOWN_GRACE_MS ran out (src/server/drain.ts),
 * told apart from a client that left: their requests end as SHUTTING_DOWN, not
 * CLIENT_CLOSED_REQUEST, and an operator searching the access log for what a
 * deploy cut finds them there instead of among client hang-ups. A WeakMap by
 * response: the drain and a request's scope share nothing else, and an entry
 * goes with its response. Its value says whether the answer's head had gone
 * out when it was cut: one cut before it was never sent, whatever status the
 * pipeline makes of it afterwards (src/telemetry/access-log.ts logs it 503).
 */
import { SHUTDOWN_CUT } from '../upstream/cancellation.js';

const cut = new WeakMap<object, boolean>();

export function markCutByShutdown(response: object, headSent: boolean): void {
  cut.set(response, headSent);
}

export function wasCutByShutdown(response: object): boolean {
  return cut.has(response);
}

/** Cut by the drain before a byte of its answer went out: its client got no status at all. */
export function wasCutBeforeItsHead(response: object): boolean {
  return cut.get(response) === false;
}

/** Why a request's client is gone: it left, or the drain cut its connection. */
export type GoneCause = 'left' | 'shutdown';

/**
 * The abort reason of an operation the drain cut where there is no response to mark (an operation over a WebSocket,
 * src/server/websocket.ts `close`): read by its scope's watch (src/request/context.ts) and its access line. Named as
 * src/upstream/cancellation.ts names the cancellation of a request the drain cut.
 */
export function shutdownCutReason(): DOMException {
  return new DOMException('The gateway shut down.', SHUTDOWN_CUT);
}

/** Whether an abort reason is the drain's cut (`shutdownCutReason`, or the cancellation's SHUTDOWN_CUT). */
export function isShutdownCut(reason: unknown): boolean {
  return reason instanceof Error && reason.name === SHUTDOWN_CUT;
}
