/**
 * Open-loop HTTP load at an even rate: request k is sent at `k / rate` seconds
 * after the start (on a 2 ms tick, so at most a few requests leave together),
 * over a keep-alive undici pool of `connections` sockets, whether or not
 * earlier ones were answered. Hand-written because autocannon's `overallRate`
 * is a per-connection quota reset once a second: its connections fire back to
 * back until the second's quota is answered and then wait, so a target runs
 * saturated for part of each second and idles for the rest.
 */
import { Pool } from 'undici';
import { sendOne, type LoadOptions } from './load.js';

export interface PacedResult {
  /** Requests answered with a 2xx whose body passed `verifyBody`. */
  completed: number;
  /** Requests that failed: a non-2xx, a body that failed verification, a socket error or a timeout. */
  failed: number;
  /** Requests sent: `rate × duration`, rounded down (all of them are, however late the target answers). */
  sent: number;
  /** From the first request sent to the last answer, s. */
  seconds: number;
}

/** How often the pacer looks at the clock, ms: requests due in between leave together. */
const TICK_MS = 2;

/** Sends `rate` requests per second for `duration` seconds; resolves once every request sent is answered or failed. */
export async function runPaced(options: Omit<LoadOptions, 'requestIdPrefix'> & { rate: number }): Promise<PacedResult> {
  const pool = new Pool(options.origin, { connections: options.connections });
  const total = Math.floor(options.rate * options.duration);
  let sent = 0;
  let completed = 0;
  let failed = 0;
  const answers: Promise<void>[] = [];
  const send = async (i: number) => {
    if (await sendOne(pool, options, i)) completed++;
    else failed++;
  };
  const started = performance.now();
  try {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate) + 1);
        while (sent < due) answers.push(send(sent++));
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      }, TICK_MS);
    });
    await Promise.all(answers);
  } finally {
    await pool.close();
  }
  return { completed, failed, sent, seconds: (performance.now() - started) / 1000 };
}
