/**
 * The parsed-document caches are bounded by the heap they hold
 * (src/pipeline/document-cache.ts, DOCUMENT_CACHE_MAX_BYTES), and what they
 * keep does not hold the machinery that made it: a cached error's stack is
 * formatted, so V8's record of its frames (each frame's function and receiver:
 * the parser, every validation rule's visitor) goes.
 */
import { execute as graphqlExecute, getOperationAST, Lexer, parse, Source, TokenKind, validate, specifiedRules, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WARM_UP_RUNS } from '../src/fast-lane/compiled-execution.js';
import { COMPILED_BYTES, COMPILED_BYTES_PER_FIELD, compiledBytes, expandedFields, useCompiledExecution } from '../src/fast-lane/index.js';
import { createDocumentCaches, documentBytes, HEAP_BYTES_PER_TOKEN, MAX_ENTRIES, textBytes } from '../src/pipeline/document-cache.js';
import { useValidationCache } from '../src/pipeline/validation-cache.js';
import { schema } from '../src/schema/index.js';
import { Harness, LANES } from './support/harness.js';

/** Tokens as graphql-js's lexer reads them, counted apart from the cache's own walk; comments, which it skips, are not counted. */
function tokensOf(text: string): number {
  const lexer = new Lexer(new Source(text));
  let count = 1; // <SOF>
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count + 1; // <EOF>
}

/** A status poll with `aliases` aliases, `name` making its text distinct. */
function poll(name: string, aliases = 1): string {
  return `query ${name}($id: ID!) { ${Array.from({ length: aliases }, (_, i) => `a${i}: execution(id: $id) { id status updatedAt }`).join(' ')} }`;
}

/** Errors whose stacks were formatted while `run` ran (Error.prepareStackTrace is V8's hook for it). */
function formattedDuring(run: (formatted: Set<unknown>) => void): void {
  const formatted = new Set<unknown>();
  const original = Error.prepareStackTrace;
  Error.prepareStackTrace = (error, frames) => {
    formatted.add(error);
    return original ? original(error, frames) : String(error);
  };
  try {
    run(formatted);
  } finally {
    Error.prepareStackTrace = original;
  }
}

describe('documentBytes', () => {
  it.each([
    ['a status poll', poll('Status'), 0],
    ['ten aliases', poll('Aliases', 10), 0],
    // A comment is a token of the AST's list too, which the lexer links and skips.
    ['a comment before the operation', `# ${'x'.repeat(5_000)}\n${poll('Commented')}`, 1],
  ])('is the text plus HEAP_BYTES_PER_TOKEN per token: %s', (_name, text, comments) => {
    expect(documentBytes(parse(text), text)).toBe(text.length + HEAP_BYTES_PER_TOKEN * (tokensOf(text) + comments));
  });

  it('counts the text alone for a document parsed without locations', () => {
    const text = poll('NoLocation');
    expect(documentBytes(parse(text, { noLocation: true }), text)).toBe(text.length);
  });
});

const FIELDS = 'id status rawStatus isTerminal statusReason paymentStatus orderId externalRef runId workflowId createdAt updatedAt startedAt finishedAt';

/** `aliases` aliases of one execution, each spreading fragment F of FIELDS' 14 fields. */
function spread(name: string, aliases: number): string {
  return `query ${name}($id: ID!) { ${Array.from({ length: aliases }, (_, i) => `a${i}: execution(id: $id) { ...F }`).join(' ')} } fragment F on Execution { ${FIELDS} }`;
}

/** The same selection as spread(), written out under each alias. */
function inline(name: string, aliases: number): string {
  return `query ${name}($id: ID!) { ${Array.from({ length: aliases }, (_, i) => `a${i}: execution(id: $id) { ${FIELDS} }`).join(' ')} }`;
}

const operationOf = (document: DocumentNode): OperationDefinitionNode => getOperationAST(document)!;

describe('compiledBytes', () => {
  it('counts each field where it is resolved: a fragment once per spread', () => {
    // Per alias: `execution` and the fragment's 14 fields, as when written out.
    for (const aliases of [1, 10, 30]) {
      const spreadOut = parse(spread('Spread', aliases));
      const writtenOut = parse(inline('Inline', aliases));
      expect(compiledBytes(spreadOut, operationOf(spreadOut))).toBe(COMPILED_BYTES + COMPILED_BYTES_PER_FIELD * aliases * 15);
      expect(compiledBytes(writtenOut, operationOf(writtenOut))).toBe(compiledBytes(spreadOut, operationOf(spreadOut)));
    }
  });

  it('counts fields under inline fragments and nested selections, and follows a fragment that spreads itself once', () => {
    const document = parse('query Q { execution(id: "ex_1") { ... on Execution { id events { nodes { id } } } ...Self } } fragment Self on Execution { status ...Self }');
    // execution, id, events, nodes, id; then Self's status once.
    expect(compiledBytes(document, operationOf(document))).toBe(COMPILED_BYTES + COMPILED_BYTES_PER_FIELD * 6);
  });

  it('counts each fragment once however the fragments spread one another: 2^40 fields from 40 fragments, at once', () => {
    // Each fragment spreads the next twice: walked spread by spread, counting would never end.
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Execution { ...F${i + 1} ...F${i + 1} }`).join(' ');
    const document = parse(`query Doubling { execution(id: "ex_1") { ...F0 } } ${fragments} fragment F${levels} on Execution { id }`);
    expect(expandedFields(document, operationOf(document))).toBe(1 + 2 ** levels);
  });
});

describe('documentCaches', () => {
  const parsed = (text: string): [string, DocumentNode] => [text, parse(text)];

  it('keeps documents within three quarters of the bound, evicting the least recently used', () => {
    const [smallText, small] = parsed(poll('Small'));
    const size = documentBytes(small, smallText);
    // Room for three documents of this size, not four.
    const { documentCache } = createDocumentCaches(Math.ceil((3.5 * size) / 0.75));
    const texts = ['A', 'B', 'C', 'D'].map((name) => poll(`Small${name}`));
    expect(new Set(texts.map((text) => text.length)).size).toBe(1);
    for (const text of texts) documentCache.set(text, parse(text));
    expect(documentCache.size).toBe(3);
    expect(documentCache.has(texts[0]!)).toBe(false);
    expect(documentCache.calculatedSize).toBeLessThanOrEqual(Math.ceil((3.5 * size) / 0.75) * 0.75);
  });

  it(`keeps at most ${MAX_ENTRIES} documents and ${MAX_ENTRIES} parse errors, however much room is left`, () => {
    const { documentCache, errorCache } = createDocumentCaches(1e9);
    const document = parse('{ __typename }');
    for (let i = 0; i <= MAX_ENTRIES; i++) {
      documentCache.set(`{ __typename } # ${i}`, document);
      errorCache.set(`{ # ${i}`, new Error('Syntax Error'));
    }
    expect([documentCache.size, errorCache.size]).toEqual([MAX_ENTRIES, MAX_ENTRIES]);
  });

  it('does not keep a document larger than its share, and keeps the others', () => {
    const [smallText, small] = parsed(poll('Small'));
    const [largeText, large] = parsed(poll('Large', 30));
    const { documentCache } = createDocumentCaches(Math.ceil((2 * documentBytes(small, smallText)) / 0.75));
    documentCache.set(smallText, small);
    documentCache.set(largeText, large);
    expect(documentCache.get(smallText)).toBe(small);
    expect(documentCache.has(largeText)).toBe(false);
  });

  it('keeps compiled code only beside a document it holds, and only while the two fit the documents\' share', () => {
    const [text, document] = parsed(spread('Charged', 30));
    const counted = documentBytes(document, text);
    const { documentCache, chargeCompiled } = createDocumentCaches(Math.ceil((counted + 1_000) / 0.75));
    documentCache.set(text, document);
    expect(chargeCompiled(document, 2_000)).toBe(false);
    // Refused code leaves the document as it was: still held, counted as before.
    expect([documentCache.get(text), documentCache.calculatedSize]).toEqual([document, counted]);
    expect(chargeCompiled(document, 900)).toBe(true);
    expect(documentCache.calculatedSize).toBe(counted + 900);
    // Another parse of the same text is not the document the cache holds.
    expect(chargeCompiled(parse(text), 1)).toBe(false);
    expect(documentCache.calculatedSize).toBe(counted + 900);
  });

  it('counts every operation compiled from a document', () => {
    const [text, document] = parsed('query A { execution(id: "ex_1") { id } } query B { execution(id: "ex_1") { status } }');
    const { documentCache, chargeCompiled } = createDocumentCaches(10_000_000);
    documentCache.set(text, document);
    for (const operation of ['A', 'B']) expect(chargeCompiled(document, compiledBytes(document, getOperationAST(document, operation)!))).toBe(true);
    expect(documentCache.calculatedSize).toBe(documentBytes(document, text) + 2 * (COMPILED_BYTES + 2 * COMPILED_BYTES_PER_FIELD));
  });

  it('counts text V8 stores two bytes per character twice', () => {
    expect(textBytes('query')).toBe(5);
    expect(textBytes('é ü ÿ')).toBe(5);
    expect(textBytes('query # 漢字')).toBe(20);
    expect(textBytes('# 🙂')).toBe(8);
  });

  it('keeps nothing with a bound of 0', () => {
    const { documentCache, errorCache } = createDocumentCaches(0);
    const [text, document] = parsed(poll('Zero'));
    documentCache.set(text, document);
    errorCache.set('{', new Error('Syntax Error'));
    expect([documentCache.size, errorCache.size]).toEqual([0, 0]);
  });

  it('bounds parse errors by their text, at a quarter of the bound', () => {
    const { errorCache } = createDocumentCaches(400_000);
    for (let i = 0; i < 10; i++) errorCache.set(`{ ${String(i).repeat(20_000)}`, new Error(`Syntax Error ${i}`));
    expect(errorCache.calculatedSize).toBeLessThanOrEqual(100_000);
    expect(errorCache.size).toBe(4);
  });

  it('formats a parse error\'s stack as it caches it', () => {
    const { errorCache } = createDocumentCaches(1_000_000);
    let error: unknown;
    try {
      parse('{ execution(id: "ex_1") {');
    } catch (thrown) {
      error = thrown;
    }
    formattedDuring((formatted) => {
      expect(formatted.has(error)).toBe(false);
      errorCache.set('{ execution(id: "ex_1") {', error as Error);
      expect(formatted.has(error)).toBe(true);
    });
  });
});

describe('the validation cache', () => {
  it('formats the stack of each error it keeps', () => {
    const document = parse('{ execution(id: "ex_1") { id nope alsoNot } }');
    const onValidate = useValidationCache().onValidate!;
    const done = onValidate({ params: { schema, documentAST: document, rules: specifiedRules }, setResult: () => {} } as never) as (payload: { result: readonly GraphQLError[] }) => void;
    const errors = validate(schema, document);
    expect(errors).toHaveLength(2);
    formattedDuring((formatted) => {
      expect(errors.filter((error) => formatted.has(error))).toHaveLength(0);
      done({ result: errors });
      expect(errors.filter((error) => formatted.has(error))).toHaveLength(2);
    });
  });
});

describe.each(LANES)('DOCUMENT_CACHE_MAX_BYTES (%s lane)', (lane) => {
  /** Each document a request was served with, in order, as the parse step left it. */
  const documents: unknown[] = [];
  const probe: Plugin = { onParse: () => ({ result }) => void documents.push(result) };
  const small = poll('SmallPoll');
  const large = inline('LargeInline', 30);
  const spreadOut = spread('SpreadOut', 30);
  // Documents get three quarters of the bound: here between what the spread document and the written-out one count as text.
  const bound = Math.ceil((documentBytes(parse(spreadOut), spreadOut) + documentBytes(parse(large), large)) / 2 / 0.75);
  let bounded: Harness;
  let off: Harness;

  beforeAll(async () => {
    bounded = await Harness.start({ lane, env: { DOCUMENT_CACHE_MAX_BYTES: String(bound) }, plugins: [probe] });
    off = await Harness.start({ lane, env: { DOCUMENT_CACHE_MAX_BYTES: '0' }, plugins: [probe] });
  });
  afterAll(async () => {
    await Promise.all([bounded.close(), off.close()]);
  });
  afterEach(() => {
    documents.length = 0;
  });

  // By identity: vitest's toBe also compares two ASTs deeply for its message, seconds for these.
  const sameDocument = () => documents[1] === documents[0];

  async function twice(harness: Harness, text: string): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const response = await harness.query(text, { id: 'ex_demo_1' });
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      expect((response.data as Record<string, { id: string }>)['a0']!.id).toBe('ex_demo_1');
    }
  }

  it('serves a document that fits from the cache: the second request gets the first one\'s document', async () => {
    await twice(bounded, small);
    expect(documents).toHaveLength(2);
    expect(sameDocument()).toBe(true);
  });

  it('parses a document larger than the bound each time, and still answers it', async () => {
    const before = bounded.upstream.requests.length;
    await twice(bounded, large);
    expect(documents).toHaveLength(2);
    expect(sameDocument()).toBe(false);
    // Thirty aliases of one id: one upstream call per request.
    expect(bounded.upstream.requests.length - before).toBe(2);
  });

  it('keeps a document whose compiled code would not fit beside it, and answers it uncompiled', async () => {
    // Smaller as text than the written-out selection, as large compiled: the fragment is compiled once per alias.
    const document = parse(spreadOut);
    const smallDocument = parse(small);
    expect(documentBytes(smallDocument, small) + compiledBytes(smallDocument, operationOf(smallDocument))).toBeLessThan(bound * 0.75);
    expect(documentBytes(document, spreadOut)).toBeLessThan(bound * 0.75);
    expect(documentBytes(document, spreadOut) + compiledBytes(document, operationOf(document))).toBeGreaterThan(bound * 0.75);
    await twice(bounded, spreadOut);
    expect(documents).toHaveLength(2);
    expect(sameDocument()).toBe(true);
  });

  it('parses every request with 0', async () => {
    await twice(off, small);
    expect(documents).toHaveLength(2);
    expect(sameDocument()).toBe(false);
  });
});

describe('useCompiledExecution with a bound', () => {
  /**
   * Runs `text`'s document through the plugin's execute function WARM_UP_RUNS + 1 times, the last being
   * the run that compiles: whether graphql-js (the executeFn it wraps) ran that last time, what `keep` was
   * asked (only when compiling: a document that runs once is never counted for code it has not), and the data.
   */
  async function run(text: string, answer: boolean): Promise<{ graphqlJs: boolean; asked: number[]; data: unknown }> {
    const asked: number[] = [];
    let graphqlJs = false;
    let execute: ((args: ExecutionArgs) => unknown) | undefined;
    const plugin = useCompiledExecution({ keep: (_document, bytes) => (asked.push(bytes), answer) });
    plugin.onExecute!({
      executeFn: (args: ExecutionArgs) => ((graphqlJs = true), graphqlExecute(args)),
      setExecuteFn: (next: (args: ExecutionArgs) => unknown) => (execute = next),
    } as never);
    const document = parse(text);
    for (let i = 0; i < WARM_UP_RUNS; i++) await execute!({ schema, document, contextValue: {} });
    expect([graphqlJs, asked]).toEqual([true, []]);
    graphqlJs = false;
    const result = (await execute!({ schema, document, contextValue: {} })) as ExecutionResult;
    return { graphqlJs, asked, data: result.data };
  }

  it('compiles what the cache keeps, once warm, and asks with the code\'s estimate', async () => {
    const text = '{ __typename }';
    const outcome = await run(text, true);
    expect(outcome).toEqual({ graphqlJs: false, asked: [compiledBytes(parse(text), operationOf(parse(text)))], data: { __typename: 'Query' } });
  });

  it('runs graphql-js for what the cache would not keep, with the same answer', async () => {
    expect(await run('{ __typename }', false)).toEqual({ graphqlJs: true, asked: [COMPILED_BYTES + COMPILED_BYTES_PER_FIELD], data: { __typename: 'Query' } });
  });
});
