/**
 * Who is on the other end of a request: the address the access log names (`clientAddress`, OpenTelemetry's
 * `client.address`). Without TRUSTED_PROXIES it is the connection's peer, and `X-Forwarded-For` is ignored: anyone
 * can send that header. With it, proxy-addr (Express's reading of the header) walks `X-Forwarded-For` from the
 * peer backwards while each address is a trusted proxy, and names the first that is not.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import proxyAddress from 'proxy-addr';

/** TRUSTED_PROXIES as read (src/config.ts): its entries, and proxy-addr's test of an address against them. */
export interface TrustedProxies {
  entries: readonly string[];
  trusts: (address: string, hop: number) => boolean;
}

/** How long a logged address may be: an IPv6 address with a zone may name an interface of any length. */
const MAX_ADDRESS_LENGTH = 64;

/**
 * The client's address for `request` (or a bare `socket`, for a head that never parsed): undefined once the
 * connection is gone before its peer was read. An entry of `X-Forwarded-For` that is no IP address (the part a
 * client wrote, reached when the whole chain is trusted) is not named: the nearest address before it is.
 */
export function clientAddress(request: Pick<IncomingMessage, 'headers' | 'socket'> | undefined, proxies: TrustedProxies | undefined, socket?: Duplex): string | undefined {
  // A raw answer's socket is node's net.Socket; typed a Duplex where it is written to.
  const peer = (request?.socket ?? (socket as { remoteAddress?: string } | undefined))?.remoteAddress;
  if (!request || !proxies || peer === undefined || request.headers['x-forwarded-for'] === undefined) return peer;
  const chain = proxyAddress.all(request as IncomingMessage, proxies.trusts);
  for (let at = chain.length - 1; at > 0; at--) if (isIP(chain[at]!) !== 0) return chain[at]!.slice(0, MAX_ADDRESS_LENGTH);
  return peer;
}
