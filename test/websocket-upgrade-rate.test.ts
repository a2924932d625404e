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
import { describe, expect, it } from 'vitest';
import { UpgradeBudget } from '../src/server/upgrade-budget.js';

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
