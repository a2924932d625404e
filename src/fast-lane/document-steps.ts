/**
 * envelop's parse and validate steps (@envelop/core 5.6 orchestrator.js,
 * `customParse` and `customValidate`), with the same payloads, order and
 * failures: each onParse hook may set the parse function or the document, each
 * onValidate hook the validation function, rules or result, and each hook's
 * returned callback sees (and may replace) the outcome; the parsed document's
 * source is recorded for `getDocumentString` as envelop records it.
 *
 * Hand-written because envelop makes a params object and 3–4 closures per hook
 * on every request, and a status poll walks 9 onParse and 9 onValidate hooks
 * with both caches answering (docs/performance.md "The cost of one pipeline"); here the
 * setters are made once per step and each hook gets only its payload. A plugin
 * that instruments `parse` or `validate` gets envelop's own step (the operation
 * runner checks), since that instrumentation wraps what only envelop holds.
 */
import type { DocumentNode, GraphQLError, GraphQLSchema, ValidationRule } from 'graphql';
import { documentStringMap } from '@envelop/core';
import type { EnvelopHooks } from './envelop-hooks.js';
import type { Hook } from './hook-walk.js';

type Context = Record<string, unknown>;
type ParseFn = (source: string, options?: unknown) => DocumentNode;
type ValidateFn = (schema: GraphQLSchema, document: DocumentNode, rules?: ValidationRule[], typeInfo?: unknown, options?: unknown) => readonly GraphQLError[];
type ParseDone = (payload: { context: Context; extendContext(extension: object): void; replaceParseResult(next: unknown): void; result: unknown }) => void;
type ValidateDone = (payload: {
  valid: boolean;
  result: readonly GraphQLError[];
  context: Context;
  extendContext(extension: object): void;
  setResult(next: readonly GraphQLError[]): void;
}) => void;

/** envelop's engine placeholders until a plugin (Yoga's useEngine) sets the functions. */
function noParse(): never {
  throw Error('No `parse` function found! Register it using "useEngine" plugin.');
}
function noValidate(): never {
  throw Error('No `validate` function found! Register it using "useEngine" plugin.');
}

export class DocumentSteps {
  readonly #onParse: Hook<'onParse'>[];
  readonly #onValidate: Hook<'onValidate'>[];

  constructor(hooks: Pick<EnvelopHooks, 'onParse' | 'onValidate'>) {
    this.#onParse = hooks.onParse;
    this.#onValidate = hooks.onValidate;
  }

  /** envelop's `parse(source)` for the request's context; throws what parsing or a hook threw, or what a hook set as the result. */
  parse(context: Context, source: string): DocumentNode {
    const state = {
      parseFn: noParse as ParseFn,
      result: null as unknown,
      extendContext(extension: object) {
        Object.assign(context, extension);
      },
      setParseFn(next: ParseFn) {
        state.parseFn = next;
      },
      // Also the callbacks' `replaceParseResult`: both set the step's result.
      setParsedDocument(next: unknown) {
        state.result = next;
      },
    };
    const after: ParseDone[] = [];
    for (const onParse of this.#onParse) {
      const done = onParse({
        context,
        extendContext: state.extendContext,
        params: { source, options: undefined },
        parseFn: state.parseFn,
        setParseFn: state.setParseFn,
        setParsedDocument: state.setParsedDocument,
      } as unknown as Parameters<Hook<'onParse'>>[0]);
      if (done) after.push(done as unknown as ParseDone);
    }
    if (state.result === null) {
      // Called as a plain function, as envelop calls it.
      const parseFn = state.parseFn;
      try {
        state.result = parseFn(source, undefined);
      } catch (error) {
        state.result = error;
      }
    }
    // Named as envelop names it: a hook that returned a non-function fails with the same message.
    for (const afterCb of after) {
      afterCb({ context, extendContext: state.extendContext, replaceParseResult: state.setParsedDocument, result: state.result });
    }
    const result = state.result;
    if (result === null) throw new Error('Failed to parse document.');
    if (result instanceof Error) throw result;
    documentStringMap.set(result as DocumentNode, source.toString());
    return result as DocumentNode;
  }

  /**
   * envelop's `validate(schema, document)` for the request's context: the errors,
   * or undefined when the validation function returned nothing (Yoga then fails
   * on it, as with envelop's own step).
   */
  validate(context: Context, schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] | undefined {
    const state = {
      rules: undefined as ValidationRule[] | undefined,
      validateFn: noValidate as ValidateFn,
      result: null as readonly GraphQLError[] | null,
      extendContext(extension: object) {
        Object.assign(context, extension);
      },
      addValidationRule(rule: ValidationRule) {
        (state.rules ??= []).push(rule);
      },
      setValidationFn(next: ValidateFn) {
        state.validateFn = next;
      },
      setResult(next: readonly GraphQLError[]) {
        state.result = next;
      },
    };
    const after: ValidateDone[] = [];
    for (const onValidate of this.#onValidate) {
      const done = onValidate({
        context,
        extendContext: state.extendContext,
        // `rules` is the list as it stands when this hook is called, as in envelop (undefined until a hook adds one).
        params: { schema, documentAST: document, rules: state.rules, typeInfo: undefined, options: undefined },
        validateFn: state.validateFn,
        addValidationRule: state.addValidationRule,
        setValidationFn: state.setValidationFn,
        setResult: state.setResult,
      } as unknown as Parameters<Hook<'onValidate'>>[0]);
      if (done) after.push(done as unknown as ValidateDone);
    }
    if (!state.result) {
      const validateFn = state.validateFn;
      state.result = validateFn(schema, document, state.rules, undefined, undefined);
    }
    if (!state.result) return undefined;
    const valid = state.result.length === 0;
    for (const afterCb of after) {
      afterCb({ valid, result: state.result, context, extendContext: state.extendContext, setResult: state.setResult });
    }
    return state.result;
  }
}
