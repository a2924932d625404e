/**
 * What an `X-Forwarded-For` entry may become in an access line (src/server/client-address.ts): one IP address in one
 * form, or nothing. Entries are written by proxies, and the far ones by clients: any text at all. And the walk from
 * the peer through the header, with TRUSTED_PROXIES as config.ts compiles it.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile } from 'proxy-addr';
import { canonicalAddress, clientAddress, type AddressSource } from '../src/server/client-address.js';

describe('canonicalAddress', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['  203.0.113.9 ', '203.0.113.9'],
    ['203.0.113.9:5678', '203.0.113.9'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[::1]', '::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['fe80::1%eth0', 'fe80::1'],
    ['"><script>', undefined],
    ['unknown', undefined],
    ['', undefined],
    ['127.1', undefined],
    ['2130706433', undefined],
    ['203.0.113.9:123456', undefined],
    ['[2001:db8::1]x', undefined],
    ['[2001:db8::1', undefined],
    // The deprecated IPv4-compatible form reads as its IPv4, as ipaddr.js has it.
    ['::1.2.3.4', '1.2.3.4'],
    ['[::0.0.0.0%]', '0.0.0.0'],
    // RFC 5952: the longest run of zeros is the one left out, lower case.
    ['2001:0:0:1::1', '2001:0:0:1::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ])('%j → %j', (entry, expected) => {
    expect(canonicalAddress(entry)).toBe(expected);
  });

  it('any text becomes an IP address without a zone, at most 45 characters, that reads as itself again, or nothing', () => {
    const entry = fc.oneof(
      fc.string(),
      fc.ipV4().map((address) => `${address}:${address.length}`),
      fc.ipV6().map((address) => `[${address}]:443`),
      fc.tuple(fc.ipV6(), fc.string()).map(([address, zone]) => `${address}%${zone}`),
      fc.ipV4Extended(),
    );
    fc.assert(
      fc.property(entry, (text) => {
        const address = canonicalAddress(text);
        if (address === undefined) return;
        expect(isIP(address)).not.toBe(0);
        expect(address).not.toContain('%');
        expect(address.length).toBeLessThanOrEqual(45);
        expect(canonicalAddress(address)).toBe(address);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('clientAddress', () => {
  const proxies = (...entries: string[]) => ({ entries, trusts: compile(entries) });
  const asked = (peer: string, forwardedFor?: string): AddressSource =>
    ({ request: { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress: peer } } }) as unknown as AddressSource;

  it('without TRUSTED_PROXIES: the peer, whatever the header says', () => {
    expect(clientAddress(asked('::ffff:127.0.0.1', '203.0.113.9'), undefined)).toBe('127.0.0.1');
  });

  it('walks from the peer while each address is trusted, and names the first that is not', () => {
    const trusted = proxies('loopback', '10.0.0.0/8');
    expect(clientAddress(asked('127.0.0.1', '198.51.100.1, 203.0.113.9, 10.1.2.3'), trusted)).toBe('203.0.113.9');
    // The peer is no trusted proxy: the header is not read at all.
    expect(clientAddress(asked('192.0.2.5', '203.0.113.9'), trusted)).toBe('192.0.2.5');
    // Every entry trusted: the farthest, as proxy-addr has it.
    expect(clientAddress(asked('127.0.0.1', '10.9.9.9, 10.1.2.3'), trusted)).toBe('10.9.9.9');
    // An empty entry, or a leading comma, is no address.
    expect(clientAddress(asked('127.0.0.1', ',10.1.2.3'), trusted)).toBeUndefined();
    expect(clientAddress(asked('127.0.0.1', ''), trusted)).toBeUndefined();
  });

  it('reads at most 32 entries: still among trusted proxies past them, it names none of them', () => {
    const trusted = proxies('loopback', '10.0.0.0/8');
    const chain = (hops: number) => ['203.0.113.9', ...Array.from({ length: hops }, (_, i) => `10.0.${i >> 8}.${i & 255}`)].join(', ');
    expect(clientAddress(asked('127.0.0.1', chain(31)), trusted)).toBe('203.0.113.9');
    expect(clientAddress(asked('127.0.0.1', chain(32)), trusted)).toBeUndefined();
    // 64 KiB of trusted entries: no address, and the walk stopped after 32 of them.
    expect(clientAddress(asked('127.0.0.1', chain(4_000)), trusted)).toBeUndefined();
  });

  it('names only what canonicalAddress would, or the peer, for any header', () => {
    const trusted = proxies('loopback', '10.0.0.0/8', 'uniquelocal');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6(), fc.constantFrom('10.1.2.3', '[fd00::1]:80', '10.0.0.1:8080')), { maxLength: 40 }), (entries) => {
        const header = entries.join(',');
        const address = clientAddress(asked('127.0.0.1', header), trusted);
        if (address === undefined) return;
        const named = [...entries.map((entry) => canonicalAddress(entry)), '127.0.0.1'];
        expect(named).toContain(address);
      }),
      { numRuns: 1_000 },
    );
  });
});
