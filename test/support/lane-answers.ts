/**
 * One query's answer on each lane with the same plugins registered, for the
 * tests that hold the lanes equal where a plugin steers a request
 * (test/operation-hooks.test.ts, test/context-hooks.test.ts).
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { expect } from 'vitest';
import { Harness, LANES, type LaneName } from './harness.js';

export const HOOKED_ID = 'ex_demo_6';
export const HOOKED_QUERY = `{ execution(id: "${HOOKED_ID}") { id status } }`;

export interface LaneAnswer {
  status: number;
  body: ExecutionResult;
  /** Requests the fake upstream got for HOOKED_ID. */
  upstreamCalls: number;
  /** The messages of the errors the gateway logged. */
  logged: string[];
}

const open: Harness[] = [];

/** Closes every harness `answerOn` started; for afterEach. */
export async function closeLaneHarnesses(): Promise<void> {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
}

/** The answer to HOOKED_QUERY on `lane` with `plugins` registered, on a gateway of its own. */
export async function answerOn(lane: LaneName, plugins: Plugin[]): Promise<LaneAnswer> {
  const harness = await Harness.start({ lane, plugins });
  open.push(harness);
  const { status, headers: _headers, ...body } = await harness.query(HOOKED_QUERY);
  // The upstream cost's time differs from run to run; its counts stay.
  const upstream = body.extensions?.['upstream'] as Record<string, unknown> | undefined;
  if (upstream) delete upstream['timeMs'];
  const logged = harness.logs.flatMap((line) => {
    const message = (line['err'] as { message?: string } | undefined)?.message;
    return message ? [message] : [];
  });
  return { status, body, upstreamCalls: harness.upstream.requestsFor(HOOKED_ID).length, logged };
}

/** The answer on each lane (fast first), asserted equal; `make` builds fresh plugins (and their counters) per lane. */
export async function onBothLanes(make: () => Plugin[]): Promise<Record<LaneName, LaneAnswer>> {
  const answers = {} as Record<LaneName, LaneAnswer>;
  for (const lane of LANES) answers[lane] = await answerOn(lane, make());
  expect(answers.fast, 'the fast lane against the full lane').toEqual(answers.full);
  return answers;
}
