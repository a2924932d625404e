/**
 * WS_MAX_UPGRADES_PER_SECOND and WS_UPGRADE_BURST (src/server/upgrade-budget.ts, src/server/websocket.ts): WebSocket
 * upgrades per client address. WS_MAX_MESSAGES_PER_SECOND bounds one socket, and a client opening a new socket each
 * time one was closed (17 a second) got a new budget each time, taking a neighbour's p90 from 14 ms to 53 ms.
 *
 * - Past its burst, an address's upgrade is refused before the handshake: 429, Retry-After, x-request-id, the
 *   gateway's JSON error body (TOO_MANY_SUBSCRIPTIONS), an access line with its clientAddress; counted
 *   (gateway_websocket_too_many_upgrades_total) and warned of once per window, then at debug.
 * - Another address still upgrades: with TRUSTED_PROXIES, the address is the one X-Forwarded-For names, as the access
 *   log reads it; without, the header is anyone's to write and the connection's peer is the address.
 * - The budget refills at WS_MAX_UPGRADES_PER_SECOND, and a refused upgrade spends none of it.
 * - `0` turns the bound off.
 * - The buckets are kept for at most MAX_TRACKED_ADDRESSES addresses, least recently upgraded dropped first.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpgradeBudget } from '../src/server/upgrade-budget.js';
import { Harness, LANES } from './support/harness.js';
import { sleep, waitFor } from './support/live.js';

const PROTOCOL = 'graphql-transport-ws';
const PER_SECOND = 1;
const BURST = 3;
const LOGGED = 'WebSocket upgrade refused: its client address made more than WS_MAX_UPGRADES_PER_SECOND upgrades a second';

type Upgrade = { opened: true; socket: WebSocket } | { opened: false; status: number; headers: IncomingHttpHeaders; body: string };

/** A raw upgrade with these headers: the open socket (closed by the caller), or the refusal. */
function upgrade(harness: Harness, headers: Record<string, string> = {}): Promise<Upgrade> {
  return new Promise<Upgrade>((resolve, reject) => {
    const socket = new WebSocket(`ws://${new URL(harness.url).host}/graphql`, PROTOCOL, { headers });
    socket.on('open', () => resolve({ opened: true, socket }));
    socket.on('unexpected-response', (request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('end', () => {
        resolve({ opened: false, status: response.statusCode ?? 0, headers: response.headers, body });
        request.destroy();
      });
    });
    socket.on('error', reject);
  });
}

/** Whether each of `count` upgrades in turn from `forwardedFor` (X-Forwarded-For; none: the peer's) opened; each opened one is closed. */
async function opened(harness: Harness, count: number, forwardedFor?: string): Promise<boolean[]> {
  const outcomes: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const result = await upgrade(harness, forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor });
    if (result.opened) result.socket.close();
    outcomes.push(result.opened);
  }
  return outcomes;
}

/**
 * `steps` run until one run of them took less than one refill (1000 ms / PER_SECOND): on a loaded machine a stall
 * between two upgrades lets a token refill, and an upgrade past the burst opens, as designed. A gateway without the
 * limit opens every upgrade however fast they come, so a fast run still fails it. Each attempt gets its own number,
 * for addresses whose budgets an earlier attempt did not spend.
 */
async function withinOneRefill<T>(steps: (attempt: number) => Promise<T>, attempts = 3): Promise<{ value: T; attempt: number }> {
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    const value = await steps(attempt);
    if (performance.now() - started < 1000 / PER_SECOND || attempt === attempts - 1) return { value, attempt };
  }
}

describe.each(LANES)('WebSocket upgrades past WS_MAX_UPGRADES_PER_SECOND, behind a trusted proxy (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      env: { WS_MAX_UPGRADES_PER_SECOND: String(PER_SECOND), WS_UPGRADE_BURST: String(BURST), TRUSTED_PROXIES: 'loopback' },
    });
  });
  afterAll(() => harness.close());

  it('refuses the upgrade past the burst from one address with 429, Retry-After and x-request-id, before the handshake; another address still connects; counted, warned of once', async () => {
    // The upgrades back to back, within one refill: the checks that read the gateway come after.
    const { value: [counted, first, refused, second, again], attempt } = await withinOneRefill(async (attempt) => {
      const [one, two] = [`203.0.113.${2 * attempt + 1}`, `203.0.113.${2 * attempt + 2}`];
      return [
        await harness.metricValue('gateway_websocket_too_many_upgrades_total'),
        await opened(harness, BURST, one),
        await upgrade(harness, { 'x-forwarded-for': one, 'x-request-id': `flooder-${attempt}-1` }),
        // Another client behind the same proxy (the same peer, 127.0.0.1) has a budget of its own.
        await opened(harness, BURST, two),
        await upgrade(harness, { 'x-forwarded-for': two, 'x-request-id': `flooder-${attempt}-2` }),
      ] as const;
    });
    expect(first).toEqual([true, true, true]);
    expect(refused.opened).toBe(false);
    if (refused.opened) return;
    expect(refused.status).toBe(429);
    // At 1 a second the next token is at most 1000 ms away: whole seconds, at least 1.
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['x-request-id']).toBe(`flooder-${attempt}-1`);
    expect(refused.headers['content-type']).toBe('application/json; charset=utf-8');
    // No handshake answered: nothing of the WebSocket's in the refusal.
    expect(refused.headers['sec-websocket-accept']).toBeUndefined();
    expect(JSON.parse(refused.body)).toEqual({
      errors: [
        {
          message: `Too many WebSocket upgrades from this address (at most ${PER_SECOND} a second, WS_MAX_UPGRADES_PER_SECOND, in bursts of ${BURST}): connect again in 1 s.`,
          extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
        },
      ],
    });
    expect(second).toEqual([true, true, true]);
    // Again within the window, from the other address: refused and counted alike, told of at debug only.
    expect(again).toMatchObject({ opened: false, status: 429 });

    expect(await harness.metricValue('gateway_websocket_too_many_upgrades_total')).toBe(counted + 2);
    const access = () => harness.logs.find((line) => line.component === 'access' && line.requestId === `flooder-${attempt}-1`);
    await waitFor(() => access() !== undefined, 'the refusal\'s access line');
    expect(access()).toMatchObject({ transport: 'ws', status: 429, clientAddress: `203.0.113.${2 * attempt + 1}` });
    const told = harness.logs.filter((line) => line.msg === LOGGED);
    expect(told[0]).toEqual(expect.objectContaining({ level: 40, maxUpgradesPerSecond: PER_SECOND, upgradeBurst: BURST }));
    // One warning in the window, the rest at debug (an attempt before this one may have been refused too).
    expect(told.map((line) => line.level)).toEqual([40, ...Array<number>(told.length - 1).fill(20)]);
    expect(told.at(-2)).toMatchObject({ requestId: `flooder-${attempt}-1`, clientAddress: `203.0.113.${2 * attempt + 1}` });
    expect(told.at(-1)).toMatchObject({ requestId: `flooder-${attempt}-2`, clientAddress: `203.0.113.${2 * attempt + 2}` });
  });

  it('refills at WS_MAX_UPGRADES_PER_SECOND: one upgrade a second, and a refused one spends nothing', async () => {
    const { value: burst, attempt } = await withinOneRefill((attempt) => opened(harness, BURST + 2, `198.51.100.${attempt + 7}`));
    expect(burst).toEqual([true, true, true, false, false]);
    await sleep(1000 / PER_SECOND + 50);
    const { value: refill } = await withinOneRefill(() => opened(harness, 2, `198.51.100.${attempt + 7}`), 1);
    expect(refill).toEqual([true, false]);
  });
});

describe('WebSocket upgrades per address without TRUSTED_PROXIES', () => {
  it("keys by the connection's peer: X-Forwarded-For is anyone's to write, and a made-up one gets no budget of its own", async () => {
    const harness = await Harness.start({ env: { WS_MAX_UPGRADES_PER_SECOND: String(PER_SECOND), WS_UPGRADE_BURST: String(BURST) } });
    try {
      expect(await opened(harness, BURST, '203.0.113.1')).toEqual([true, true, true]);
      expect(await opened(harness, 1, '203.0.113.2')).toEqual([false]);
      expect(await opened(harness, 1)).toEqual([false]);
    } finally {
      await harness.close();
    }
  });

  it('WS_MAX_UPGRADES_PER_SECOND=0 turns the bound off', async () => {
    const harness = await Harness.start({ env: { WS_MAX_UPGRADES_PER_SECOND: '0', WS_UPGRADE_BURST: '1' } });
    try {
      expect(await opened(harness, 5)).toEqual([true, true, true, true, true]);
      expect(await harness.metricValue('gateway_websocket_too_many_upgrades_total')).toBe(0);
    } finally {
      await harness.close();
    }
  });
});

/** An upgrade request as UpgradeBudget reads it: its peer and X-Forwarded-For, nothing else. */
function requestFrom(peer: string, forwardedFor?: string): Pick<IncomingMessage, 'headers' | 'socket'> {
  const headers: IncomingHttpHeaders = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  // A stand-in for the socket: clientAddress reads its remoteAddress only.
  return { headers, socket: { remoteAddress: peer } } as unknown as Pick<IncomingMessage, 'headers' | 'socket'>;
}

describe('UpgradeBudget', () => {
  it('keeps the buckets of at most maxAddresses addresses, however many upgrade', () => {
    let now = 0;
    const budget = new UpgradeBudget(1, 2, undefined, 100, () => now);
    for (let i = 0; i < 10_000; i++) {
      budget.take(requestFrom(`2001:db8::${i.toString(16)}`));
      now += 1;
    }
    expect(budget.addresses).toBe(100);
  });

  it('an address flooding now keeps its bucket while fewer than maxAddresses others upgrade between its upgrades; one dropped comes back with a full burst', () => {
    let now = 0;
    const budget = new UpgradeBudget(1, 2, undefined, 100, () => now);
    const flooder = requestFrom('203.0.113.66');
    expect([budget.take(flooder).waitMs, budget.take(flooder).waitMs]).toEqual([0, 0]);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 99; i++) budget.take(requestFrom(`2001:db8:${round.toString(16)}::${i.toString(16)}`));
      expect(budget.take(flooder).waitMs, `round ${round}`).toBeGreaterThan(0);
    }
    // 100 others in between: its bucket was the least recently used, and is gone.
    for (let i = 0; i < 100; i++) budget.take(requestFrom(`2001:db8:ffff::${i.toString(16)}`));
    expect([budget.take(flooder).waitMs, budget.take(flooder).waitMs, budget.take(flooder).waitMs > 0]).toEqual([0, 0, true]);
  });

  it('keys by the client address as the access log names it: through trusted proxies, in its one form; the peer when none can be named', () => {
    const trusts = (address: string) => address === '10.0.0.1';
    const budget = new UpgradeBudget(1, 1, { entries: ['10.0.0.1'], trusts }, 100, () => 0);
    expect(budget.take(requestFrom('10.0.0.1', '203.0.113.9'))).toEqual({ address: '203.0.113.9', waitMs: 0 });
    // The same client, its address written another way, through the same proxy.
    expect(budget.take(requestFrom('10.0.0.1', '::ffff:203.0.113.9'))).toEqual({ address: '203.0.113.9', waitMs: 1000 });
    expect(budget.take(requestFrom('10.0.0.1', '203.0.113.10')).waitMs).toBe(0);
    // An untrusted peer's header is ignored: the peer is the client.
    expect(budget.take(requestFrom('198.51.100.1', '203.0.113.11'))).toEqual({ address: '198.51.100.1', waitMs: 0 });
    // What a client wrote past the proxy is no address: the proxy's peer stands for it, bounded all the same.
    expect(budget.take(requestFrom('10.0.0.1', 'not-an-address'))).toEqual({ address: '10.0.0.1', waitMs: 0 });
    expect(budget.take(requestFrom('10.0.0.1', 'still-not-one')).waitMs).toBe(1000);
  });
});
