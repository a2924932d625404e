/**
 * Who is on the other end of a request: the address the access log names (`clientAddress`, OpenTelemetry's
 * `client.address`). Without TRUSTED_PROXIES it is the connection's peer, and `X-Forwarded-For` is ignored: anyone
 * can send that header. With it, the walk goes from the peer back through `X-Forwarded-For`, nearest entry first,
 * while each address is a trusted proxy (proxy-addr's test, as Express's `trust proxy` list compiles it), and names
 * the first that is not; the farthest entry when every one is.
 *
 * The walk is written here, not left to proxy-addr's, because proxies write entries it reads as no address: Azure's
 * Application Gateway `203.0.113.9:5678`, others `[2001:db8::1]:443` or `[::1]`, which named the proxy as the
 * client. An address is named in one form (ipaddr.js: `::ffff:1.2.3.4` is `1.2.3.4`, IPv6 as RFC 5952 writes it, no
 * zone), so one client is one value.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import ipaddr from 'ipaddr.js';

/** TRUSTED_PROXIES as read (src/config.ts): its entries, and proxy-addr's test of an address against them. */
export interface TrustedProxies {
  entries: readonly string[];
  trusts: (address: string, hop: number) => boolean;
}

/**
 * Entries of `X-Forwarded-For` read at most, nearest first: a chain of proxies is a handful long, and a head may
 * hold 64 KiB of entries. A walk still among trusted proxies past them names no address.
 */
const MAX_HOPS = 32;

/** An IPv4 address with a port (`203.0.113.9:5678`), as some proxies write an entry. */
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;

/** `text` as one IP address in its one form, without port, brackets or IPv6 zone; undefined when it is none. */
export function canonicalAddress(text: string): string | undefined {
  let address = text.trim();
  if (address.startsWith('[')) {
    // `[2001:db8::1]`, `[2001:db8::1]:443`: what is between the brackets.
    const close = address.indexOf(']');
    if (close < 0 || (close + 1 < address.length && !/^:\d{1,5}$/.test(address.slice(close + 1)))) return undefined;
    address = address.slice(1, close);
  } else {
    address = IPV4_WITH_PORT.exec(address)?.[1] ?? address;
  }
  // A zone names an interface of the sender's machine, and may be any text: never logged.
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  if (isIP(address) === 0) return undefined;
  // node's test first: ipaddr.js also takes forms no proxy writes (`127.1`, `0x7f.1`). An IPv4-mapped address is its
  // IPv4; an IPv6 one is written as RFC 5952 has it (as load balancers and other `client.address` values are).
  const parsed = ipaddr.process(address);
  return parsed.kind() === 'ipv6' ? (parsed as ipaddr.IPv6).toRFC5952String() : parsed.toString();
}

/** Each socket's peer in its one form (null: none): read once per connection, not for each of its requests' lines. */
const peers = new WeakMap<object, string | null>();

function peerOf(socket: { remoteAddress?: string | undefined } | undefined): string | undefined {
  if (!socket) return undefined;
  let peer = peers.get(socket);
  if (peer === undefined) {
    const text = socket.remoteAddress;
    peer = (text === undefined ? undefined : canonicalAddress(text)) ?? null;
    // Not kept while unknown: node may not have read it yet.
    if (peer !== null) peers.set(socket, peer);
  }
  return peer ?? undefined;
}

/** The fields of a request the address is read from: where one was read (a head that never parsed has only its socket). */
export interface AddressSource {
  request?: Pick<IncomingMessage, 'headers' | 'socket'> | undefined;
  socket?: Duplex | undefined;
}

/**
 * The client's address: undefined when the connection's peer is unknown (node read none), or when the nearest entry
 * that is no trusted proxy is no IP address (what a client wrote, or a proxy the list left out): never the text
 * itself, never a trusted proxy named in its place. The peer is read from the socket, where node keeps it once read
 * (the HTTP edge reads it as the connection opens, so a line written after the socket closed still has it).
 */
export function clientAddress({ request, socket }: AddressSource, proxies: TrustedProxies | undefined): string | undefined {
  let address = peerOf(request?.socket ?? (socket as { remoteAddress?: string } | undefined));
  const forwarded = request?.headers['x-forwarded-for'];
  if (!proxies || address === undefined || forwarded === undefined) return address;
  const header = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
  // From the end, entry by entry: what lies past MAX_HOPS is never split or copied.
  let end = header.length;
  for (let hop = 0; end >= 0; hop++) {
    if (!proxies.trusts(address, hop)) return address;
    // Still a trusted proxy after MAX_HOPS entries: who is behind it is not read, and the proxy is not the client.
    if (hop === MAX_HOPS) return undefined;
    const start = header.lastIndexOf(',', end - 1);
    const next = canonicalAddress(header.slice(start + 1, end));
    if (next === undefined) return undefined;
    address = next;
    end = start;
  }
  // Every entry was a trusted proxy: the farthest is the client as far as anyone can tell (proxy-addr's rule too).
  return address;
}
