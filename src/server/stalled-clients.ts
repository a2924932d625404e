/**
 * Answers and live streams whose client stopped reading (LIVE_STALLED_CLIENT_MS).
 *
 * Every HTTP answer is watched too (`watchAnswer`): one a client asked for and
 * never reads (tens of MB of events, say) was otherwise held in the process
 * for as long as the connection stayed open, which a peer that never reads
 * keeps it. Watching costs a connection one map entry and two listeners, made
 * on its first answer and kept until it closes (`Watch`), and each answer one
 * 'close' listener; no timer: the one sweep reads each socket's state.
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
 * (`writableNeedDrain`: the kernel refused more) and the kernel has taken no
 * byte of them since: it has not drained, nor, for a WebSocket, had one whole
 * message taken (`progressed`), nor has the write under way shrunk (libuv's
 * `writeQueueSize`, which node's own socket timeout reads the same way). A
 * reader that keeps up empties the buffer within a round trip, a slow one
 * takes some of it at every window update, a stopped one never. Whole writes
 * alone would cut slow readers: one 16 MB update read at a steady 4 MB/s
 * (updates every 8 s, so the reader kept up) waited 2 s for its drain and was
 * dropped with a limit of 1 s, as a 1 MB update on a 50 KB/s mobile link would
 * be with the default 10 s, at every reconnect. Checked by one sweep for the
 * whole process (every quarter of the limit, at most every second), so a
 * stalled socket is closed within two sweeps past the limit; each 'drain'
 * starts the count over.
 *
 * What this cannot see: bytes the kernel has taken. A client that stops reading
 * a stream of small updates is found only once its receive window and the
 * gateway's send buffer are full (several megabytes on a fast path), and a
 * WebSocket's keep-alive ping finds it first when that takes longer.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * One socket's watch, made on its first answer or stream and kept until the
 * socket closes; each answer only sets and clears `onStalled`. Not an entry
 * per answer: with an entry added and deleted per request, a long-lived Map
 * kept what its entries held through scavenges until the next full collection
 * (measured in docs/performance.md "Collection at a higher rate").
 */
interface Watch {
  /** When a sweep last found the socket waiting for a drain with no byte taken since the sweep before (performance.now()), or undefined while it keeps up. */
  since: number | undefined;
  /** Bytes of the write under way the kernel had not taken at that sweep (libuv's queue), or undefined where node exposes none. */
  queued: number | undefined;
  /** The current answer's or stream's callback; undefined while the socket is idle, which the sweep then skips. */
  onStalled: (() => void) | undefined;
  drained: () => void;
  closed: () => void;
}

/** The sweep's period: a quarter of the limit, between 25 ms and 1 s. */
const sweepPeriod = (stallMs: number) => Math.min(1_000, Math.max(25, Math.floor(stallMs / 4)));

export class StalledClients {
  readonly #watches = new Map<Socket, Watch>();
  #sweep: NodeJS.Timeout | undefined;

  /** @param stallMs how long a socket may wait for a drain before `onStalled` is called (ms). */
  constructor(readonly stallMs: number) {}

  /** Sockets with an answer or stream watched now (for tests). */
  get size(): number {
    let watched = 0;
    for (const watch of this.#watches.values()) if (watch.onStalled) watched++;
    return watched;
  }

  /**
   * Watches `socket` until it closes or the returned function is called;
   * `onStalled` is called once, when it has waited `stallMs` for a drain, and
   * must close it. Tracking a socket again replaces the previous callback, and
   * the count starts over.
   */
  track(socket: Socket, onStalled: () => void): () => void {
    const watch = this.#watches.get(socket) ?? this.#watch(socket);
    watch.since = undefined;
    watch.queued = undefined;
    watch.onStalled = onStalled;
    this.#sweep ??= setInterval(() => this.#check(), sweepPeriod(this.stallMs)).unref();
    return () => {
      if (watch.onStalled === onStalled) watch.onStalled = undefined;
    };
  }

  /**
   * Watches the connection of an HTTP answer until the answer has gone
   * ('close'); `onStalled` is called once when its writes have waited
   * `stallMs` for a drain, and must destroy the connection. From the start,
   * not from the last write: Yoga's node adapter waits for a drain before it
   * ends an answer. An answer pipelined behind another on its connection takes
   * the watch over, so a stalled connection is cut once, for all it carries.
   */
  watchAnswer(response: ServerResponse, socket: Socket, onStalled: () => void): void {
    response.once('close', this.track(socket, onStalled));
  }

  /**
   * The network took a whole write of `socket` (a WebSocket message): the count
   * starts over, as on a drain, so a client that reads while more waits behind
   * (several operations on one connection) is not taken for a stalled one.
   */
  progressed(socket: Socket): void {
    const watch = this.#watches.get(socket);
    if (watch) watch.since = undefined;
  }

  /** Stops the sweep and forgets every socket (the instance closes). */
  close(): void {
    for (const socket of [...this.#watches.keys()]) this.#forget(socket);
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  /** The socket's watch, made on its first answer or stream: forgotten when it closes. */
  #watch(socket: Socket): Watch {
    const watch: Watch = {
      since: undefined,
      queued: undefined,
      onStalled: undefined,
      drained: () => {
        watch.since = undefined;
      },
      closed: () => this.#forget(socket),
    };
    this.#watches.set(socket, watch);
    socket.on('drain', watch.drained);
    socket.once('close', watch.closed);
    return watch;
  }

  #forget(socket: Socket): void {
    const watch = this.#watches.get(socket);
    if (!watch) return;
    this.#watches.delete(socket);
    socket.off('drain', watch.drained);
    socket.off('close', watch.closed);
  }

  #check(): void {
    const now = performance.now();
    let watched = 0;
    for (const [socket, watch] of this.#watches) {
      if (socket.destroyed) {
        this.#forget(socket);
        continue;
      }
      const onStalled = watch.onStalled;
      if (!onStalled) continue;
      watched++;
      if (!socket.writableNeedDrain) {
        watch.since = undefined;
      } else if (watch.since === undefined || writeQueueSize(socket) !== watch.queued) {
        // Waiting from now, or the kernel took part of the write under way since the last sweep: a slow reader, not a stopped one.
        watch.since = now;
        watch.queued = writeQueueSize(socket);
      } else if (now - watch.since >= this.stallMs) {
        watch.onStalled = undefined;
        onStalled();
      }
    }
    // Stopped by a sweep that finds nothing watched, not as the last answer ends: every answer is watched, and one
    // after another on an idle gateway would each start and stop a timer.
    if (watched === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }
}

/**
 * Bytes of `socket`'s writes handed to libuv and not yet taken by the kernel,
 * or undefined without a handle. Shrinks as the kernel takes part of a large
 * write, where 'drain' and write callbacks wait for the whole of it.
 */
function writeQueueSize(socket: Socket): number | undefined {
  return (socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize;
}
