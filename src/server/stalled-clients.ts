/**
 * Live streams whose client stopped reading (LIVE_STALLED_CLIENT_MS).
 *
 * A client that stops reading a Server-Sent Events response or a WebSocket (a
 * frozen tab, a suspended process, a peer that never reads) leaves its TCP
 * receive window full. The kernel then takes nothing more, and what the
 * gateway writes waits in the process: for a WebSocket, one update per
 * operation (graphql-ws awaits each send) plus the one Yoga's stream has
 * pulled ahead, all behind a socket that will not take them. Measured with 100
 * watches of 256 KB updates on one WebSocket: about 160 MiB of heap and 50 MiB
 * of buffers held until the keep-alive's missed pong dropped the socket, 24 s
 * later, while the 100 pollers went on calling upstream for nobody. An event
 * stream has no keep-alive to miss: a stalled one held its watch, its slot of
 * LIVE_MAX_SUBSCRIPTIONS_PER_CALLER and its poller for as long as the peer's
 * kernel kept acknowledging (for ever), and no update, final ones included,
 * could reach it.
 *
 * A socket counts as stalled once its writes have filled node's buffer
 * (`writableNeedDrain`: the kernel refused more) and it has neither drained
 * nor, for a WebSocket, had one whole message taken since (`progressed`): a
 * reader that keeps up empties it within a round trip, a slow one takes a
 * message within the time its link needs to carry one, a stopped one never. Checked by
 * one sweep for the whole process (every quarter of the limit, at most every
 * second), so a stalled socket is closed within two sweeps past the limit;
 * each 'drain' starts the count over.
 *
 * What this cannot see: bytes the kernel has taken. A client that stops reading
 * a stream of small updates is found only once its receive window and the
 * gateway's send buffer are full (several megabytes on a fast path), and a
 * WebSocket's keep-alive ping finds it first when that takes longer.
 */
import type { Socket } from 'node:net';

interface Tracked {
  /** When a sweep first found the socket waiting for a drain (performance.now()), or undefined while it keeps up. */
  since: number | undefined;
  onStalled: () => void;
  drained: () => void;
  closed: () => void;
}

/** The sweep's period: a quarter of the limit, between 25 ms and 1 s. */
const sweepPeriod = (stallMs: number) => Math.min(1_000, Math.max(25, Math.floor(stallMs / 4)));

export class StalledClients {
  readonly #tracked = new Map<Socket, Tracked>();
  #sweep: NodeJS.Timeout | undefined;

  /** @param stallMs how long a socket may wait for a drain before `onStalled` is called (ms). */
  constructor(readonly stallMs: number) {}

  /** Sockets tracked now (for tests). */
  get size(): number {
    return this.#tracked.size;
  }

  /**
   * Watches `socket` until it closes or the returned function is called;
   * `onStalled` is called once, when it has waited `stallMs` for a drain, and
   * must close it. Tracking a socket again replaces the previous callback.
   */
  track(socket: Socket, onStalled: () => void): () => void {
    this.#untrack(socket);
    const untrack = () => {
      if (this.#tracked.get(socket) === tracked) this.#untrack(socket);
    };
    const tracked: Tracked = {
      since: undefined,
      onStalled,
      drained: () => {
        tracked.since = undefined;
      },
      closed: untrack,
    };
    this.#tracked.set(socket, tracked);
    // Both removed when tracking ends: a keep-alive connection may carry many event streams in turn.
    socket.on('drain', tracked.drained);
    socket.once('close', tracked.closed);
    this.#sweep ??= setInterval(() => this.#check(), sweepPeriod(this.stallMs)).unref();
    return untrack;
  }

  /**
   * The network took a whole write of `socket` (a WebSocket message): the count
   * starts over, as on a drain, so a client that reads while more waits behind
   * (several operations on one connection) is not taken for a stalled one.
   */
  progressed(socket: Socket): void {
    const tracked = this.#tracked.get(socket);
    if (tracked) tracked.since = undefined;
  }

  /** Stops the sweep and forgets every socket (the instance closes). */
  close(): void {
    for (const socket of [...this.#tracked.keys()]) this.#untrack(socket);
  }

  #untrack(socket: Socket): void {
    const tracked = this.#tracked.get(socket);
    if (!tracked) return;
    this.#tracked.delete(socket);
    socket.off('drain', tracked.drained);
    socket.off('close', tracked.closed);
    if (this.#tracked.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #check(): void {
    const now = performance.now();
    for (const [socket, tracked] of this.#tracked) {
      if (socket.destroyed) {
        this.#untrack(socket);
      } else if (!socket.writableNeedDrain) {
        tracked.since = undefined;
      } else if (tracked.since === undefined) {
        tracked.since = now;
      } else if (now - tracked.since >= this.stallMs) {
        this.#untrack(socket);
        tracked.onStalled();
      }
    }
  }
}
