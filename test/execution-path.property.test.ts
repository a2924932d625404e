/**
 * executionPath skips its URL-parser proof for plain ids (letters, digits, "_",
 * "-"). fast-check checks that whatever the id and base path, a returned path is
 * one the URL parser keeps exactly as it is, under the executions collection.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { executionPath } from '../src/upstream/execution-path.js';

const ORIGIN = 'http://upstream.test';
const plainChars = fc.constantFrom(...'abcXYZ019_-');
const anyId = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ unit: plainChars, minLength: 1, maxLength: 20 }), fc.constantFrom('.', '..', '%2e%2e', 'a/b', 'a?b', 'a#b', 'ä', '\\'));
const basePath = fc.constantFrom('', '/api', '/api/v2', '/a_b-c', '/with space', '/dot/..', '/%2e');

describe('executionPath', () => {
  it('returns only paths the URL parser keeps as they are, under /v1/executions/', () => {
    fc.assert(
      fc.property(anyId, basePath, (id, base) => {
        let path: string;
        try {
          path = executionPath(ORIGIN, base, id);
        } catch {
          return;
        }
        const parsed = new URL(path, ORIGIN);
        expect(parsed.pathname).toBe(path);
        expect(parsed.search).toBe('');
        expect(parsed.hash).toBe('');
        expect(path).toBe(`${base}/v1/executions/${encodeURIComponent(id)}`);
      }),
      { numRuns: 5_000 },
    );
  });

  it('takes plain ids as they are', () => {
    fc.assert(
      fc.property(fc.string({ unit: plainChars, minLength: 1, maxLength: 64 }), (id) => {
        expect(executionPath(ORIGIN, '/api', id)).toBe(`/api/v1/executions/${id}`);
      }),
    );
  });
});
