/**
 * How upstream work is told to stop: once, with a reason (the request's budget
 * ran out, or every client waiting on the call left).
 *
 * An EventEmitter rather than an AbortController: on Node 20 creating an
 * AbortSignal costs about 4 µs and each listener added and removed about 3 µs,
 * against well under 1 µs for an emitter (measured), and a status poll needs two
 * of them and five listeners. undici takes an emitter that emits 'abort' as a
 * request's signal, so an attempt can hand it one directly.
 */
import { EventEmitter } from 'node:events';

export class Cancellation extends EventEmitter {
  #aborted = false;
  #reason: unknown;

  /** `listeners`: how many may listen at once before Node warns of a leak. */
  constructor(listeners = 10) {
    super();
    this.setMaxListeners(listeners);
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.emit('abort');
  }

  /** Calls `listener` once on abort, at once if already aborted; returns the unsubscribe. */
  onAbort(listener: () => void): () => void {
    if (this.#aborted) {
      listener();
      return () => {};
    }
    this.once('abort', listener);
    return () => this.off('abort', listener);
  }
}
