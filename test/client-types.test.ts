/**
 * The typed client as a frontend project type-checks it: under its own, stricter
 * compiler settings (exactOptionalPropertyTypes, noUncheckedIndexedAccess, the DOM
 * library), importing src/client/index.ts must compile, pull in no gateway source
 * outside src/client/ and src/client-contract.ts (a frontend installs none of the
 * server's dependencies), and type `extensions.code` so a caller tells
 * NOT_FOUND from UPSTREAM_UNAVAILABLE without matching strings it could mistype
 * (test/support/client-consumer.ts holds the calls, with @ts-expect-error where a
 * wrong code or header must not compile). So does a Node script's project, without
 * the DOM library (`lib: ["ES2022"]`, `types: ["node"]`): there the fetch types come
 * from @types/node (undici-types), which declares no `HeadersInit` or `RequestInfo`.
 * And so does a Vite project's (create-vite's react-ts template: bundler resolution,
 * `erasableSyntaxOnly`, unused locals and parameters refused). `erasableSyntaxOnly`
 * (TS1294: no parameter properties, enums or namespaces, which a type-stripping bundler
 * cannot erase) and `noPropertyAccessFromIndexSignature` (TS4111: a record's key read
 * with brackets) are on in all three, so neither construct comes back into the client.
 * With `skipLibCheck` off, graphql-request's own declarations need the DOM library's
 * `HeadersInit`: the README tells a Node project so, and the last tests hold it to that.
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
  noPropertyAccessFromIndexSignature: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  erasableSyntaxOnly: true,
  skipLibCheck: true,
  noEmit: true,
};

/** A Node script's settings: no DOM library, fetch's types from @types/node alone. */
const NODE_OPTIONS: ts.CompilerOptions = { ...FRONTEND_OPTIONS, lib: ['lib.es2022.d.ts'] };

/**
 * create-vite's react-ts tsconfig.app.json (bundler resolution, a type-stripping build), with
 * the stricter settings above added as a project adds them. Its `jsx` is left out: the client has no JSX.
 */
const VITE_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  types: ['vite/client'],
  allowImportingTsExtensions: true,
  verbatimModuleSyntax: true,
  moduleDetection: ts.ModuleDetectionKind.Force,
  noEmit: true,
  strict: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  erasableSyntaxOnly: true,
  noFallthroughCasesInSwitch: true,
  noUncheckedSideEffectImports: true,
  skipLibCheck: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noPropertyAccessFromIndexSignature: true,
};

/** Each error of `program`, as `file:line message` (the file from the repository's root). */
function diagnosticsOf(program: ts.Program): string[] {
  return ts.getPreEmitDiagnostics(program).map((each) => {
    const where = each.file ? `${each.file.fileName.slice(ROOT.length)}:${each.file.getLineAndCharacterOfPosition(each.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(each.messageText, '\n').split('\n')[0]}`;
  });
}

describe.each([
  ['a frontend\'s compiler settings (DOM library)', FRONTEND_OPTIONS],
  ['a Node script\'s compiler settings (no DOM library)', NODE_OPTIONS],
  ['a Vite project\'s compiler settings (bundler resolution, erasableSyntaxOnly)', VITE_OPTIONS],
])('typed client under %s', (_title, options) => {
  const program = ts.createProgram([CONSUMER], options);

  it('compiles with exactOptionalPropertyTypes, erasableSyntaxOnly and noPropertyAccessFromIndexSignature, and a mistyped error or warning code, or header, does not', () => {
    expect(diagnosticsOf(program)).toEqual([]);
  }, 60_000);

  it('pulls in no gateway source beyond src/client/ and src/client-contract.ts, and no DOM library unless asked for', () => {
    const sources = program
      .getSourceFiles()
      .map((file) => file.fileName)
      .filter((name) => name.startsWith(`${ROOT}src/`))
      .map((name) => name.slice(ROOT.length))
      .sort();
    expect(sources).toEqual(['src/client-contract.ts', 'src/client/authorization.ts', 'src/client/endpoint.ts', 'src/client/fetch-cause.ts', 'src/client/fetch-types.ts', 'src/client/generated.ts', 'src/client/index.ts', 'src/client/live.ts', 'src/client/persisted-documents.ts', 'src/client/shared-socket.ts']);
    // A dependency's `/// <reference lib="dom" />` would bring the DOM back and hide what a Node project sees.
    const dom = program.getSourceFiles().some((file) => /[\\/]lib\.dom\.d\.ts$/.test(file.fileName));
    expect(dom).toBe(options.lib!.includes('lib.dom.d.ts'));
  });
});

// The README says so: graphql-request's declarations name the DOM's HeadersInit, which @types/node does not declare.
// Only its own files are checked: checking every declaration the client pulls in took three times as long.
describe('graphql-request\'s declarations, type-checked (skipLibCheck off)', () => {
  const errorsInGraphqlRequest = (options: ts.CompilerOptions) => {
    const program = ts.createProgram([CONSUMER], { ...options, skipLibCheck: false });
    return program
      .getSourceFiles()
      .filter((file) => /[\\/]node_modules[\\/]graphql-request[\\/]/.test(file.fileName))
      .flatMap((file) => program.getSemanticDiagnostics(file))
      .map((each) => ts.flattenDiagnosticMessageText(each.messageText, '\n'));
  };

  it('need the DOM library\'s HeadersInit: without it, each of their errors is that name missing', () => {
    const errors = errorsInGraphqlRequest(NODE_OPTIONS);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(["Cannot find name 'HeadersInit'."]));
  }, 60_000);

  it('compile with the DOM library', () => {
    expect(errorsInGraphqlRequest(FRONTEND_OPTIONS)).toEqual([]);
  }, 60_000);
});
