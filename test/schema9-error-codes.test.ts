/**
 * README "Error codes" is what a frontend writes its `switch (error.extensions.code)` from: its table must name
 * exactly the codes the gateway mints (src/errors.ts, from src/client-contract.ts's ErrorCode), no fewer and no
 * more, and no module may write a code of its own as a literal beside them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ErrorCode } from '../src/errors.js';

const root = new URL('..', import.meta.url).pathname;

function readmeCodes(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('### Error codes');
  const end = readme.indexOf('\n### ', start + 1);
  expect(start).toBeGreaterThan(-1);
  return [...readme.slice(start, end).matchAll(/^\| `([A-Z][A-Z_]*)` \|/gm)].map((match) => match[1]!);
}

function sources(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('README error codes', () => {
  it('lists each code src/errors.ts mints, once, and no other', () => {
    const listed = readmeCodes();
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(Object.values(ErrorCode).sort());
    expect([...ERROR_CODES].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('is where every code written out in src/ comes from', () => {
    // `code: 'X'` or `extensions: { code: "X" }` in a module: a code a client could get that ErrorCode does not name.
    const written = new Map<string, string[]>();
    for (const path of sources(join(root, 'src'))) {
      const text = readFileSync(path, 'utf8');
      for (const [, code] of text.matchAll(/\bcode:\s*['"]([A-Z][A-Z_]{3,})['"]/g)) {
        if (!written.has(code!)) written.set(code!, []);
        written.get(code!)!.push(path.slice(root.length));
      }
    }
    // Upstream's own payload in the demo data is no gateway error.
    written.delete('NODE_TIMEOUT');
    const unnamed = [...written].filter(([code]) => !ERROR_CODES.has(code));
    expect(unnamed).toEqual([]);
  });
});
