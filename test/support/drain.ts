/**
 * Bytes sent during a drain on a connection accepted before it: the raw TCP client opens, the drain starts, and once
 * the listener has closed (every earlier request finished) `bytes` go out on that connection.
 */
import { connect } from 'node:net';
import type { DrainReport } from '../../src/server/drain.js';
import type { Harness } from './harness.js';
import { waitFor } from './live.js';

/** Resolves once the connection has closed, with the drain's report, how long the drain took (ms) and what the client read. */
export async function sentDuringDrain(harness: Harness, bytes: string, graceMs: number): Promise<{ report: DrainReport; tookMs: number; received: string }> {
  const socket = connect(Number(new URL(harness.url).port), '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  const began = performance.now();
  const drained = harness.instance.drain({ unreadyMs: 0, graceMs });
  await waitFor(() => !harness.instance.server.listening, 'the listener to close');
  socket.write(bytes);
  const report = await drained;
  const tookMs = performance.now() - began;
  await closed;
  return { report, tookMs, received };
}
