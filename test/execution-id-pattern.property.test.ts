/**
 * EXECUTION_ID_PATTERN as ids are checked with it (src/upstream/execution-path.ts): a pattern other
 * than the default runs on re2js, in time linear in the id's length, and allows exactly the ids
 * JavaScript's own engine allows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { assertAllowedExecutionId, compileIdPattern, DEFAULT_EXECUTION_ID_PATTERN, executionPath } from '../src/upstream/execution-path.js';

/** Patterns an operator might write, several of which backtrack exponentially on JavaScript's engine. */
const PATTERNS = [
  '^ex_[a-z0-9]+$',
  '^([a-z0-9]+-?)+$',
  '^[a-z]+(?:-[a-z]+)*$',
  '^(\\w|\\d)+$',
  '^(?:ex|job)_\\d{1,6}$',
  '^[A-Za-z0-9_.-]{1,128}$',
  '^([a-z]+_)*[0-9]+$',
  '^.{1,64}$',
];

/** Whether `id` is allowed by the gateway's check, past its length and dot-segment rules. */
function allowed(source: string, id: string): boolean {
  try {
    assertAllowedExecutionId(id, readConfig({ EXECUTION_ID_PATTERN: source }).upstream.executionIdPattern);
    return true;
  } catch (error) {
    expect((error as { extensions?: { code?: unknown } }).extensions?.code).toBe('BAD_USER_INPUT');
    return false;
  }
}

describe('EXECUTION_ID_PATTERN', () => {
  it('refuses, at once, ids that make a backtracking engine take time exponential in their length', () => {
    // On V8 each of these takes longer than the universe has existed; a hang here fails the test by its timeout.
    const hostile: Array<[string, string]> = [
      ['^([a-z0-9]+-?)+$', `${'a'.repeat(1023)}!`],
      ['^(\\w|\\d)+$', `${'1'.repeat(1023)}!`],
      ['^([a-z]+_)*[0-9]+$', `${'a_'.repeat(511)}!`],
    ];
    for (const [source, id] of hostile) expect(allowed(source, id), source).toBe(false);
  });

  it('makes a path of every id it allows, however permissive the pattern: an id holding half a surrogate pair is BAD_USER_INPUT', () => {
    const unit = fc.oneof(fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'), fc.constantFrom(...'a/.%?#😀é '));
    fc.assert(
      fc.property(fc.string({ unit, minLength: 1, maxLength: 12 }), (candidate) => {
        const wellFormed = !/\p{Cs}/u.test(candidate);
        expect(allowed('^[\\s\\S]+$', candidate), JSON.stringify(candidate)).toBe(wellFormed && candidate !== '.' && candidate !== '..');
        if (allowed('^[\\s\\S]+$', candidate)) expect(executionPath('http://127.0.0.1', '', candidate)).toBe(`/v1/executions/${encodeURIComponent(candidate)}`);
      }),
      { numRuns: 1_000 },
    );
  });

  it('allows exactly the ids JavaScript\'s engine allows, for ids of the characters the patterns name', () => {
    const id = fc.string({ unit: fc.constantFrom(...'ab09_-.!Zé/ '), minLength: 1, maxLength: 24 });
    fc.assert(
      fc.property(fc.constantFrom(...PATTERNS, DEFAULT_EXECUTION_ID_PATTERN), id, (source, candidate) => {
        // Short ids only: on these, V8's backtracking ends in microseconds.
        const expected = candidate !== '.' && candidate !== '..' && new RegExp(source).test(candidate);
        expect(allowed(source, candidate), `${source} on ${JSON.stringify(candidate)}`).toBe(expected);
        expect(compileIdPattern(source).test(candidate)).toBe(new RegExp(source).test(candidate));
      }),
      { numRuns: 2_000 },
    );
  });
});
