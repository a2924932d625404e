/**
 * The stall watch's sweep (src/server/stalled-clients.ts) on sockets the test
 * sets by hand, under fake timers: when a socket counts as stalled to the
 * millisecond, what starts the count over, and how the sweep starts, stops and
 * forgets sockets. test/stalled-clients.test.ts holds the same watch over real
 * sockets, where the kernel's buffers blur every bound by seconds.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StalledClients } from '../src/server/stalled-clients.js';

/** The parts of a socket the watch reads: node's write state and libuv's queue. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  writableNeedDrain = false;
  _handle: { writeQueueSize: number } | null = { writeQueueSize: 0 };
}

/** A socket whose writes wait for a drain, `queued` bytes of the write under way not taken. */
function waiting(queued = 65_536): FakeSocket {
  const socket = new FakeSocket();
  socket.writableNeedDrain = true;
  socket._handle!.writeQueueSize = queued;
  return socket;
}

const asSocket = (socket: FakeSocket) => socket as unknown as Socket;

describe('the stall watch, sweep by sweep', () => {
  let watch: StalledClients | undefined;
  let start: number;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    start = performance.now();
  });

  afterEach(() => {
    watch?.close();
    watch = undefined;
    vi.useRealTimers();
  });

  /** Advances 1 ms at a time until `stalled` has been called, or `limitMs` passed: the ms it was called at. */
  function stalledAt(stalled: ReturnType<typeof vi.fn>, limitMs: number): number | undefined {
    while (performance.now() - start < limitMs) {
      vi.advanceTimersByTime(1);
      if (stalled.mock.calls.length > 0) return Math.round(performance.now() - start);
    }
    return undefined;
  }

  it.each([
    // A sweep every quarter of the limit, 25 ms at least and 1 s at most: the first sweep that finds the socket
    // waiting starts the count, the sweep at or past the limit after it reports.
    { stallMs: 100, period: 25 },
    { stallMs: 1_000, period: 250 },
    { stallMs: 40, period: 25 },
    { stallMs: 8_000, period: 1_000 },
  ])('with a limit of $stallMs ms, a socket that takes nothing is reported once, at the sweep the limit after the first that found it waiting', ({ stallMs, period }) => {
    watch = new StalledClients(stallMs);
    const stalled = vi.fn();
    watch.track(asSocket(waiting()), stalled);
    const sweepsToLimit = Math.ceil(stallMs / period);
    expect(stalledAt(stalled, 20_000)).toBe(period * (1 + sweepsToLimit));
    vi.advanceTimersByTime(10 * period);
    expect(stalled).toHaveBeenCalledTimes(1);
  });

  it('a write under way that shrinks between sweeps is a slow reader: the count starts at the last sweep that saw it shrink', () => {
    watch = new StalledClients(1_000);
    const stalled = vi.fn();
    const socket = waiting(100_000);
    watch.track(asSocket(socket), stalled);
    // The kernel takes 10 KB before each of the first four sweeps (250 ms apart), then nothing.
    for (let sweep = 1; sweep <= 4; sweep++) {
      socket._handle!.writeQueueSize -= 10_000;
      vi.advanceTimersByTime(250);
    }
    // Sweeps at 1,000 (saw it shrink: count from there), 1,250, ..., 2,000 (the limit reached).
    expect(stalledAt(stalled, 5_000)).toBe(2_000);
  });

  it.each([
    ['a drain', (socket: FakeSocket) => socket.emit('drain')],
    ['a WebSocket message taken', (socket: FakeSocket, watch: StalledClients) => watch.progressed(asSocket(socket))],
    [
      'a sweep that finds the buffer below its mark',
      (socket: FakeSocket) => {
        socket.writableNeedDrain = false;
        vi.advanceTimersByTime(250);
        socket.writableNeedDrain = true;
      },
    ],
  ] as const)('%s starts the count over', (_what, progress) => {
    watch = new StalledClients(1_000);
    const stalled = vi.fn();
    const socket = waiting();
    watch.track(asSocket(socket), stalled);
    // Found waiting at 250; the count would reach the limit at 1,250.
    vi.advanceTimersByTime(1_100);
    progress(socket, watch);
    const at = stalledAt(stalled, 5_000)!;
    // Found waiting again at the next sweep (1,250 or 1,500), reported a limit later.
    expect(at).toBeGreaterThanOrEqual(2_250);
    expect(at).toBeLessThanOrEqual(2_500);
  });

  it.each([
    { handle: 'with', queued: 65_536 },
    // Node exposes no write queue (a socket whose handle is gone): only the time counts.
    { handle: 'without', queued: undefined },
  ])('a socket $handle a write queue tracked again for a new answer starts its count over, under the new callback only', ({ queued }) => {
    watch = new StalledClients(1_000);
    const first = vi.fn();
    const second = vi.fn();
    const socket = waiting();
    if (queued === undefined) socket._handle = null;
    watch.track(asSocket(socket), first);
    vi.advanceTimersByTime(1_100);
    watch.track(asSocket(socket), second);
    // Without the restart the count from 250 reaches the limit at the next sweep (1,250).
    expect(stalledAt(second, 5_000)).toBe(2_250);
    expect(first).not.toHaveBeenCalled();
  });

  it('the stop a track returns clears only its own callback, and a socket with none is never reported', () => {
    watch = new StalledClients(1_000);
    const first = vi.fn();
    const second = vi.fn();
    const socket = waiting();
    const stopFirst = watch.track(asSocket(socket), first);
    watch.track(asSocket(socket), second);
    stopFirst();
    expect(watch.size).toBe(1);
    expect(stalledAt(second, 5_000)).toBe(1_250);

    const third = vi.fn();
    const stopThird = watch.track(asSocket(socket), third);
    stopThird();
    expect(watch.size).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(third).not.toHaveBeenCalled();
  });

  it('size counts sockets with an answer or stream watched, not idle ones still remembered', () => {
    watch = new StalledClients(1_000);
    const busy = waiting();
    const idle = waiting();
    watch.track(asSocket(busy), vi.fn());
    watch.track(asSocket(idle), vi.fn())();
    expect(watch.size).toBe(1);
    // The idle socket is remembered (its listeners stay) until it closes.
    expect(idle.listenerCount('drain')).toBe(1);
  });

  it('a socket is forgotten, its listeners removed, when it closes, and a destroyed one at the next sweep', () => {
    watch = new StalledClients(1_000);
    const closing = waiting();
    const destroyed = waiting();
    const stalledDestroyed = vi.fn();
    watch.track(asSocket(closing), vi.fn());
    watch.track(asSocket(destroyed), stalledDestroyed);
    closing.emit('close');
    expect(closing.listenerCount('drain')).toBe(0);
    expect(closing.listenerCount('close')).toBe(0);
    destroyed.destroyed = true;
    vi.advanceTimersByTime(250);
    expect(destroyed.listenerCount('drain')).toBe(0);
    expect(destroyed.listenerCount('close')).toBe(0);
    expect(watch.size).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(stalledDestroyed).not.toHaveBeenCalled();
  });

  it('the sweep stops at the first sweep that finds nothing watched, starts again with the next track, and stops on close', () => {
    watch = new StalledClients(1_000);
    const socket = waiting();
    const stop = watch.track(asSocket(socket), vi.fn());
    expect(vi.getTimerCount()).toBe(1);
    stop();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(250);
    expect(vi.getTimerCount()).toBe(0);

    const stalled = vi.fn();
    watch.track(asSocket(socket), stalled);
    expect(vi.getTimerCount()).toBe(1);
    expect(stalledAt(stalled, 5_000)).toBe(250 + 1_250);

    watch.track(asSocket(socket), vi.fn());
    watch.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.listenerCount('drain')).toBe(0);
    expect(watch.size).toBe(0);
  });
});

describe('the stall watch with real timers', () => {
  it('its sweep never holds the process open', () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timeouts();
    const watch = new StalledClients(1_000);
    try {
      watch.track(asSocket(waiting()), () => undefined);
      expect(timeouts()).toBe(before);
    } finally {
      watch.close();
    }
  });
});
