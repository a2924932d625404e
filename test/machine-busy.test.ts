/**
 * What the benchmarks count as the machine's busy time when they judge whether
 * other jobs shared a run (`foreignCpu`, bench/lib/procfs.ts): a real kernel's
 * `cpu` line, and lines whose fields are each set alone, so a field read from
 * the wrong column fails.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busyTicksOf } from '../bench/lib/procfs.js';

const FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'] as const;

/** A `cpu` line with `ticks` in one field and 0 in every other. */
const only = (field: (typeof FIELDS)[number], ticks: number) => `cpu  ${FIELDS.map((each) => (each === field ? ticks : 0)).join(' ')}`;

describe('busyTicksOf', () => {
  it.each(['user', 'nice', 'system', 'steal'] as const)('counts %s as busy: this machine or the host ran something', (field) => {
    expect(busyTicksOf(only(field, 1234))).toBe(1234);
  });

  it.each(['idle', 'iowait', 'irq', 'softirq', 'guest', 'guest_nice'] as const)('does not count %s', (field) => {
    expect(busyTicksOf(only(field, 1234))).toBe(0);
  });

  it('adds the busy fields of one line', () => {
    expect(busyTicksOf('cpu  5160849 20596 502118 10078952 7718 0 100041 406302 0 0')).toBe(5160849 + 20596 + 502118 + 406302);
  });

  it("reads this machine's /proc/stat as a whole number no larger than its fields' sum", () => {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const total = line.trim().split(/\s+/).slice(1, 9).map(Number).reduce((sum, value) => sum + value, 0);
    const busy = busyTicksOf(line);
    expect(Number.isInteger(busy)).toBe(true);
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(total);
  });

  it('an empty line is 0, not NaN', () => {
    expect(busyTicksOf('')).toBe(0);
  });
});
