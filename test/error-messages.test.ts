/**
 * How delays read in error messages (src/errors.ts `seconds`): a pause upstream asked for of a few ms was
 * "during the next 0.0 s", which told a client there was nothing to wait for.
 */
import { describe, expect, it } from 'vitest';
import { seconds } from '../src/errors.js';

describe('seconds', () => {
  it.each([
    [0, '0 s'],
    [1, '1 ms'],
    [40, '40 ms'],
    [99.2, '100 ms'],
    [100, '0.1 s'],
    [1_500, '1.5 s'],
    [30_000, '30 s'],
  ])('%s ms reads %s', (ms, read) => {
    expect(seconds(ms)).toBe(read);
  });
});
