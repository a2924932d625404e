/**
 * notingUnknownCharset (src/schema/served.ts) directly: paths that wait for one
 * load share its reaction, and a path asked after the load is noted at once.
 * Over HTTP, with aliases, it is in upstream-bytes.test.ts.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Execution } from '../src/domain/execution.js';
import type { GatewayContext } from '../src/request/context.js';
import { notingUnknownCharset } from '../src/schema/served.js';

function world() {
  const paths: unknown[] = [];
  const context = { scope: { warn: (_field: string, note: { path: unknown }) => paths.push(note.path) } } as unknown as GatewayContext;
  const at = (key: string) => ({ path: { prev: undefined, key, typename: 'Query' } }) as unknown as GraphQLResolveInfo;
  return { paths, context, at };
}

const klingon = { id: 'ex_k', unknownCharset: 'x-klingon' } as unknown as Execution;

describe('notingUnknownCharset', () => {
  it('notes each path, waiting or late, once, and hands back the load itself', async () => {
    const { paths, context, at } = world();
    const loading = Promise.resolve(klingon);
    expect(notingUnknownCharset(loading, context, at('a'))).toBe(loading);
    notingUnknownCharset(loading, context, at('b'));
    expect(paths).toEqual([]);
    await loading;
    await Promise.resolve();
    expect(paths).toEqual([['a'], ['b']]);
    notingUnknownCharset(loading, context, at('late'));
    expect(paths).toEqual([['a'], ['b'], ['late']]);
  });

  it('notes nothing for an execution in a known charset, nor for a failed load', async () => {
    const { paths, context, at } = world();
    const plain = Promise.resolve({ id: 'ex_p' } as unknown as Execution);
    notingUnknownCharset(plain, context, at('a'));
    const failed = Promise.reject(new Error('NOT_FOUND'));
    expect(notingUnknownCharset(failed, context, at('b'))).toBe(failed);
    await plain;
    await expect(failed).rejects.toThrow('NOT_FOUND');
    notingUnknownCharset(plain, context, at('late'));
    expect(paths).toEqual([]);
  });
});
