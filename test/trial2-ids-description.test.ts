/**
 * `executions(ids)`'s description says the bound of 100 counts ids as sent, repeats included, as the gateway
 * does (101 copies of one id are refused: test/request-guards.test.ts). It read "At most 100 ids; a repeated
 * id is read once", which a client read as 101 ids with a repeat being within the bound.
 */
import { describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';

describe('executions(ids) description', () => {
  it('says repeats count toward the bound of 100', () => {
    const field = schema.getQueryType()!.getFields()['executions']!;
    expect(field.description).toContain('At most 100 ids, repeats included');
    expect(field.args.find((arg) => arg.name === 'ids')!.description).toBe('Execution ids, at most 100, repeats included (each distinct id is read once); more are `BAD_USER_INPUT`, with no upstream call.');
  });
});
