/**
 * The start-up warning for heap bounds past the heap limit says which settings to lower. Its
 * upstream term is UPSTREAM_MAX_BYTES_IN_FLIGHT or one body of UPSTREAM_MAX_BODY_BYTES,
 * whichever is more, but the advice named UPSTREAM_MAX_BODY_BYTES alone: with the defaults
 * (both 128 MiB) and --max-old-space-size=512, UPSTREAM_MAX_BODY_BYTES=1048576 left the line
 * at 1101 MiB, as did UPSTREAM_MAX_BYTES_IN_FLIGHT=1048576 alone. The advice names the setting
 * that counts, or both when they are equal.
 */
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { heapBounds, heapOverrun } from '../src/server/heap-budget.js';

const HEAP_LIMIT = 560 * 2 ** 20;
const MIB = 2 ** 20;

function advice(env: Record<string, string>): string {
  const overrun = heapOverrun(readConfig(env), HEAP_LIMIT);
  expect(overrun).toBeDefined();
  return overrun!.message.slice(overrun!.message.indexOf('; lower '));
}

describe('heap bounds warning: the upstream setting it says to lower', () => {
  it('defaults (both 128 MiB): lowering either alone changes nothing, so it names both', () => {
    const before = heapBounds(readConfig({})).UPSTREAM_MAX_BYTES_IN_FLIGHT;
    expect(heapBounds(readConfig({ UPSTREAM_MAX_BODY_BYTES: String(MIB) })).UPSTREAM_MAX_BYTES_IN_FLIGHT).toBe(before);
    expect(heapBounds(readConfig({ UPSTREAM_MAX_BYTES_IN_FLIGHT: String(MIB) })).UPSTREAM_MAX_BYTES_IN_FLIGHT).toBe(before);
    const text = advice({});
    expect(text).toContain('UPSTREAM_MAX_BYTES_IN_FLIGHT');
    expect(text).toContain('UPSTREAM_MAX_BODY_BYTES');
    expect(text).toMatch(/UPSTREAM_MAX_BYTES_IN_FLIGHT (?:together )?with UPSTREAM_MAX_BODY_BYTES|both UPSTREAM_MAX_BYTES_IN_FLIGHT and UPSTREAM_MAX_BODY_BYTES/);
  });

  it('bodies in flight the larger: names UPSTREAM_MAX_BYTES_IN_FLIGHT, not the body bound', () => {
    const text = advice({ UPSTREAM_MAX_BODY_BYTES: String(MIB) });
    expect(text).toContain('UPSTREAM_MAX_BYTES_IN_FLIGHT');
    expect(text).not.toContain('UPSTREAM_MAX_BODY_BYTES');
  });

  it('one body the larger: names UPSTREAM_MAX_BODY_BYTES, not the bodies in flight', () => {
    const text = advice({ UPSTREAM_MAX_BYTES_IN_FLIGHT: String(MIB) });
    expect(text).toContain('UPSTREAM_MAX_BODY_BYTES');
    expect(text).not.toContain('UPSTREAM_MAX_BYTES_IN_FLIGHT');
  });
});
