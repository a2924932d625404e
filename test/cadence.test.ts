/** The poll cadence (src/live/cadence.ts): a pure function, so unit-tested without servers. */
import { describe, expect, it } from 'vitest';
import { nextPollDelay, type CadenceSettings } from '../src/live/cadence.js';

const SETTINGS: CadenceSettings = { paymentMs: 5_000, waitingMs: 3_000, activeMs: 1_000, jitter: 0, maxBackoffMs: 30_000 };

describe('nextPollDelay', () => {
  it('doubles the interval per failure up to the backoff cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => nextPollDelay('WORKFLOW_RUNNING', failures, SETTINGS))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });

  it('never polls a failing upstream more often than a healthy one, whatever LIVE_POLL_MAX_BACKOFF_MS is', () => {
    const settings = { ...SETTINGS, maxBackoffMs: 10 };
    for (const status of ['AWAITING_PAYMENT', 'WORKFLOW_RUNNING', 'PAYMENT_CONFIRMED'] as const) {
      const healthy = nextPollDelay(status, 0, settings);
      for (const failures of [1, 2, 5, 20]) expect(nextPollDelay(status, failures, settings)).toBe(healthy);
    }
  });
});
