/**
 * The typed client as a frontend project type-checks it: under its own, stricter
 * compiler settings (exactOptionalPropertyTypes, noUncheckedIndexedAccess, the DOM
 * library), importing src/client/index.ts must compile, pull in no gateway source
 * outside src/client/ and src/client-contract.ts (a frontend installs none of the
 * server's dependencies), and type `extensions.code` so a caller tells
 * NOT_FOUND from UPSTREAM_UNAVAILABLE without matching strings it could mistype
 * (test/support/client-consumer.ts holds the calls, with @ts-expect-error where a
 * wrong code must not compile).
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONSUMER = fileURLToPath(new URL('./support/client-consumer.ts', import.meta.url));

/** Settings a frontend's tsconfig commonly has on top of `strict`. */
const FRONTEND_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  skipLibCheck: true,
  noEmit: true,
};

describe('typed client under a frontend\'s compiler settings', () => {
  const program = ts.createProgram([CONSUMER], FRONTEND_OPTIONS);

  it('compiles with exactOptionalPropertyTypes, and a mistyped error or warning code does not', () => {
    const diagnostics = ts.getPreEmitDiagnostics(program).map((each) => {
      const where = each.file ? `${each.file.fileName.slice(ROOT.length)}:${each.file.getLineAndCharacterOfPosition(each.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(each.messageText, '\n').split('\n')[0]}`;
    });
    expect(diagnostics).toEqual([]);
  }, 60_000);

  it('pulls in no gateway source beyond src/client/ and src/client-contract.ts', () => {
    const sources = program
      .getSourceFiles()
      .map((file) => file.fileName)
      .filter((name) => name.startsWith(`${ROOT}src/`))
      .map((name) => name.slice(ROOT.length))
      .sort();
    expect(sources).toEqual(['src/client-contract.ts', 'src/client/authorization.ts', 'src/client/generated.ts', 'src/client/index.ts', 'src/client/live.ts']);
  });
});
