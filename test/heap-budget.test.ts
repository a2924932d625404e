/**
 * The start-up warning for heap bounds that add up past the heap V8 may grow to (src/server/heap-budget.ts): a
 * 64 MiB heap took the defaults without a word, and one query of a 17.5 MB execution aborted the process.
 */
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { heapBounds, heapOverrun } from '../src/server/heap-budget.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { outputOfStart } from './support/process-output.js';

const MiB = 2 ** 20;
const defaults = readConfig({ UPSTREAM_URL: 'http://127.0.0.1:1' });

describe('heap bounds against the heap limit', () => {
  it('adds up the caches, the live readings and the upstream bodies in flight (128 MiB of them by default)', () => {
    const bounds = heapBounds(defaults);
    expect(bounds).toEqual({
      CACHE_MAX_BYTES: 256 * MiB,
      DOCUMENT_CACHE_MAX_BYTES: 64 * MiB,
      LIVE_MAX_HELD_BYTES: 512 * MiB,
      UPSTREAM_MAX_BYTES_IN_FLIGHT: entryBytes({ bodyBytes: 128 * MiB, events: [] }),
    });
  });

  it('counts the larger of UPSTREAM_MAX_BYTES_IN_FLIGHT and UPSTREAM_MAX_BODY_BYTES: a lone body is never refused', () => {
    const more = readConfig({ UPSTREAM_URL: 'http://127.0.0.1:1', UPSTREAM_MAX_BYTES_IN_FLIGHT: String(512 * MiB) });
    expect(heapBounds(more).UPSTREAM_MAX_BYTES_IN_FLIGHT).toBe(entryBytes({ bodyBytes: 512 * MiB, events: [] }));
    const fewer = readConfig({ UPSTREAM_URL: 'http://127.0.0.1:1', UPSTREAM_MAX_BYTES_IN_FLIGHT: String(MiB) });
    expect(heapBounds(fewer).UPSTREAM_MAX_BYTES_IN_FLIGHT).toBe(entryBytes({ bodyBytes: 128 * MiB, events: [] }));
  });

  it('warns only past the limit, naming every bound in MiB', () => {
    const total = Object.values(heapBounds(defaults)).reduce((sum, each) => sum + each, 0);
    expect(heapOverrun(defaults, total)).toBeUndefined();
    const overrun = heapOverrun(defaults, total - 1);
    expect(overrun?.fields).toEqual({
      heapLimitMiB: Math.round((total - 1) / MiB),
      totalMiB: Math.round(total / MiB),
      boundsMiB: { CACHE_MAX_BYTES: 256, DOCUMENT_CACHE_MAX_BYTES: 64, LIVE_MAX_HELD_BYTES: 512, UPSTREAM_MAX_BYTES_IN_FLIGHT: Math.round(entryBytes({ bodyBytes: 128 * MiB, events: [] }) / MiB) },
    });
    expect(overrun?.message).toMatch(/^the heap bounds add up to \d+ MiB, past the heap limit of \d+ MiB: .* raise --max-old-space-size$/);
    // Bounds lowered to fit a small heap: no warning.
    const small = readConfig({ UPSTREAM_URL: 'http://127.0.0.1:1', CACHE_MAX_BYTES: String(8 * MiB), DOCUMENT_CACHE_MAX_BYTES: String(4 * MiB), LIVE_MAX_HELD_BYTES: String(8 * MiB), UPSTREAM_MAX_BODY_BYTES: String(4 * MiB), UPSTREAM_MAX_BYTES_IN_FLIGHT: String(4 * MiB) });
    expect(heapOverrun(small, 64 * MiB)).toBeUndefined();
  });

  it.each([
    ['a 64 MiB heap with the default bounds: one warning at start', ['--max-old-space-size=64'], 1],
    ["node's default heap on this machine: none", [], 0],
  ])('%s', { timeout: 180_000 }, async (_name, nodeFlags, warnings) => {
    const output = await outputOfStart(
      { HOME: process.env.HOME, UPSTREAM_URL: 'http://127.0.0.1:1', PORT: '0', HOST: '127.0.0.1', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0' },
      // A start through tsx: 10 to 40 s on a loaded 2-core machine. The wait guards only a hang.
      { nodeFlags, withinMs: 90_000 },
    );
    const told = output.lines().filter((line) => line.msg?.startsWith('the heap bounds add up'));
    expect(told).toHaveLength(warnings);
    if (warnings) expect(told[0]).toMatchObject({ level: 40, heapLimitMiB: expect.any(Number), boundsMiB: { CACHE_MAX_BYTES: 256, LIVE_MAX_HELD_BYTES: 512 } });
  });
});
