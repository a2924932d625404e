/**
 * How many WebSocket upgrades each client address may still make (WS_MAX_UPGRADES_PER_SECOND, in bursts of
 * WS_UPGRADE_BURST): one token bucket (./message-budget.ts) per address. WS_MAX_MESSAGES_PER_SECOND bounds one
 * socket, and a client that opened a new socket each time one was closed got a new budget each time: 17 sockets a
 * second from one client took a neighbour's p90 from 14 ms to 53 ms.
 *
 * The address is the one the access log names (./client-address.ts), TRUSTED_PROXIES honoured the same way: behind a
 * load balancer it is the client's, never the balancer's. Where none can be named (a trusted proxy wrote an entry that
 * is no address), the connection's peer stands for it, so a client cannot leave the bound by writing one; with no
 * peer either (node read none) the upgrade is not bounded.
 *
 * The buckets are kept in an LRU of at most `maxAddresses`: a client sending from ever new addresses (an IPv6 range)
 * cannot grow it. Dropping an address's bucket only ever favours that address (it comes back with a full burst), and
 * a bucket upgraded from lately is the last to go: an address flooding now keeps its bucket unless `maxAddresses`
 * other addresses upgrade between two of its upgrades, and whoever has that many addresses gets that many bursts anyway.
 */
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { DEFAULT_WS_MAX_CONNECTIONS } from '../config.js';
import { clientAddress, type TrustedProxies } from './client-address.js';
import { MessageBudget } from './message-budget.js';

/**
 * Addresses whose buckets are kept: as many as WS_MAX_CONNECTIONS's default lets sockets be open. Measured, 10,000
 * buckets keyed by IPv6 addresses hold 2.3 MB of heap (230 bytes each, the key and the LRU's slots included).
 */
export const MAX_TRACKED_ADDRESSES = DEFAULT_WS_MAX_CONNECTIONS;

export class UpgradeBudget {
  readonly #buckets: LRUCache<string, MessageBudget>;

  /** `perSecond` > 0; `now`: a clock in ms (performance.now() unless a test gives one). */
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly trustedProxies: TrustedProxies | undefined,
    maxAddresses = MAX_TRACKED_ADDRESSES,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#buckets = new LRUCache({ max: maxAddresses });
  }

  /** Addresses whose buckets are kept now (at most `maxAddresses`). */
  get addresses(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one upgrade from the budget of the request's client address: `address` is that address, `waitMs` 0 when
   * the upgrade may go on, else the ms until one would be taken (the upgrade is past the rate).
   */
  take(request: Pick<IncomingMessage, 'headers' | 'socket'>): { address: string | undefined; waitMs: number } {
    const address = clientAddress({ request }, this.trustedProxies) ?? clientAddress({ request }, undefined);
    if (address === undefined) return { address, waitMs: 0 };
    let bucket = this.#buckets.get(address);
    if (!bucket) {
      bucket = new MessageBudget(this.perSecond, this.burst, this.now);
      this.#buckets.set(address, bucket);
    }
    return { address, waitMs: bucket.take() ? 0 : Math.max(1, bucket.waitMs()) };
  }
}
