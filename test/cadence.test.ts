/** The poll cadence (src/live/cadence.ts): a pure function, so unit-tested without servers. */
import { describe, expect, it } from 'vitest';
import { failuresWithin, nextPollDelay, type CadenceSettings } from '../src/live/cadence.js';

const SETTINGS: CadenceSettings = { pollPaymentMs: 5_000, pollWaitingMs: 3_000, pollActiveMs: 1_000, pollJitter: 0, pollMaxBackoffMs: 30_000 };

describe('nextPollDelay', () => {
  it.each([
    ['AWAITING_PAYMENT', 5_000],
    ['PAYMENT_CONFIRMED', 3_000],
    ['WORKFLOW_QUEUED', 1_000],
    ['WORKFLOW_RUNNING', 1_000],
    ['WORKFLOW_WAITING', 3_000],
    ['WORKFLOW_SUCCEEDED', 3_000],
    ['UNKNOWN', 3_000],
  ] as const)('polls an execution %s every %i ms while upstream answers', (status, interval) => {
    expect(nextPollDelay(status, 0, SETTINGS)).toBe(interval);
    expect(failuresWithin(status, interval + 1, { ...SETTINGS, pollMaxBackoffMs: 1 })).toBe(2);
  });

  it('pauses 1 ms at least, with the whole interval spread either way', () => {
    const settings = { ...SETTINGS, pollActiveMs: 1, pollJitter: 1 };
    expect(nextPollDelay('WORKFLOW_RUNNING', 0, settings, () => 0)).toBe(1);
    expect(nextPollDelay('WORKFLOW_RUNNING', 0, settings, () => 0.999)).toBe(2);
  });

  it('doubles the interval per failure up to the backoff cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => nextPollDelay('WORKFLOW_RUNNING', failures, SETTINGS))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });

  it('never polls a failing upstream more often than a healthy one, whatever LIVE_POLL_MAX_BACKOFF_MS is', () => {
    const settings = { ...SETTINGS, pollMaxBackoffMs: 10 };
    for (const status of ['AWAITING_PAYMENT', 'WORKFLOW_RUNNING', 'PAYMENT_CONFIRMED'] as const) {
      const healthy = nextPollDelay(status, 0, settings);
      for (const failures of [1, 2, 5, 20]) expect(nextPollDelay(status, failures, settings)).toBe(healthy);
    }
  });

  it('spreads each pause by LIVE_POLL_JITTER_PERCENT either way, backed off or not, so watchers of one execution do not poll in step', () => {
    const settings = { ...SETTINGS, pollJitter: 0.2 };
    const at = (failures: number, random: number) => nextPollDelay('WORKFLOW_RUNNING', failures, settings, () => random);
    expect([at(0, 0), at(0, 0.5), at(0, 0.999_999)]).toEqual([800, 1_000, 1_200]);
    expect([at(2, 0), at(2, 0.5), at(2, 0.999_999)]).toEqual([3_200, 4_000, 4_800]);
    // The cap is spread too: thousands of watchers backed off to it come back apart.
    expect([at(10, 0), at(10, 0.999_999)]).toEqual([24_000, 36_000]);
  });
});

describe('failuresWithin', () => {
  it("counts the polls one poller backing off from the first failure has made: a replica taking over a pair's outage backs off from there", () => {
    // Failures at 0, 2, 6, 14, 30, 60, 90 s: pauses of 2, 4, 8, 16 s, then the 30 s cap.
    const at = [-1, 0, 1, 2_000, 2_001, 6_001, 14_000, 14_001, 30_001, 60_001, 90_001];
    expect(at.map((elapsed) => failuresWithin('WORKFLOW_RUNNING', elapsed, SETTINGS))).toEqual([0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7]);
    // A replica that took over at 14 s and fails is the pair's fourth failure: it waits 16 s, as one poller would.
    expect(nextPollDelay('WORKFLOW_RUNNING', failuresWithin('WORKFLOW_RUNNING', 14_000, SETTINGS) + 1, SETTINGS)).toBe(16_000);
  });

  it('counts no failure for an elapsed time that is not a number', () => {
    // Not NaN failures: every later pause would be NaN, and a timer of NaN ms fires at once, a poll without pause.
    expect(failuresWithin('WORKFLOW_RUNNING', Number.NaN, SETTINGS)).toBe(0);
  });

  it('with the cap under the interval, one failure per interval', () => {
    expect(failuresWithin('WORKFLOW_RUNNING', 2_500, { ...SETTINGS, pollMaxBackoffMs: 10 })).toBe(3);
  });
});
