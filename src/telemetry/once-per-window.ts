/**
 * Which names a warning was already logged for: each is told of once per
 * window, and at most `most` names per window, so a client that reconnects
 * every few seconds (a refused browser page, an old WebSocket client), or one
 * that makes up a new name each time, cannot fill the log. Used for refused
 * origins (../pipeline/cors.ts) and the WebSocket edge's warnings
 * (../server/websocket.ts): refused subprotocols, sockets closed for their
 * message rate or to make room, upgrades refused for their address's rate.
 */
export class OncePerWindow {
  readonly #told = new Set<string>();
  #since: number;

  /** `windowMs`: how long a name stays told; `now`: a clock in ms (performance.now() unless a test gives one). */
  constructor(
    private readonly windowMs: number,
    private readonly most = Number.POSITIVE_INFINITY,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#since = now();
  }

  /** True when `name` is to be told of now: not yet in this window, and fewer than `most` names were. */
  first(name: string): boolean {
    if (this.now() - this.#since >= this.windowMs) {
      this.#told.clear();
      this.#since = this.now();
    }
    if (this.#told.has(name) || this.#told.size >= this.most) return false;
    this.#told.add(name);
    return true;
  }
}
