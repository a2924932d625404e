/**
 * What an `X-Forwarded-For` entry may become in an access line (src/server/client-address.ts): one IP address in one
 * form, or nothing. Entries are written by proxies, and the far ones by clients: any text at all.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalAddress } from '../src/server/client-address.js';

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
    // ipaddr.js throws on IPv4 inside an IPv6 that is not a mapped one: read all the same.
    ['::1.2.3.4', '::1.2.3.4'],
    ['[::0.0.0.0%]', '::0.0.0.0'],
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
