/**
 * Validation results kept per document, schema and set of rules, the cache
 * Yoga's parserAndValidationCache keeps with `validationCache: true`, and the
 * same result for every request: a request whose document, schema and rules
 * were validated before gets that result (`setResult`), and every plugin's
 * onValidate and onValidateDone hooks still run around it.
 *
 * Hand-written because Yoga's version keys each lookup by the names of all the
 * rules joined into one string (about 35 here) in a TTL cache whose clock arms a
 * timer, several µs of every request (docs/performance.md "The cost of one pipeline"). Here
 * a document's entries remember the rules they were made with: a rule that is
 * the same function as before matches at once, and only a rule made afresh for
 * the request (as Armor's plugins make theirs) is compared by name, as Yoga
 * compares every rule.
 *
 * It must be the last plugin that adds validation rules (src/pipeline/gateway.ts
 * registers it after every other), so it sees the request's whole rule set.
 */
import type { DocumentNode, GraphQLError, GraphQLSchema, ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

interface Entry {
  rules: readonly ValidationRule[];
  /** What validation gave: the errors, none when the document is valid. */
  result: readonly Error[];
}

/** Entries per document: one per distinct rule set, which configuration fixes; the bound only stops a plugin that varies them. */
const MAX_RULE_SETS = 8;

function sameRules(kept: readonly ValidationRule[], given: readonly ValidationRule[]): boolean {
  if (kept.length !== given.length) return false;
  for (let i = 0; i < kept.length; i++) {
    const rule = given[i]!;
    if (kept[i] !== rule && kept[i]!.name !== rule.name) return false;
  }
  return true;
}

export function useValidationCache(): Plugin {
  const bySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Entry[]>>();
  return {
    onValidate({ params: { schema, documentAST, rules }, setResult }) {
      let byDocument = bySchema.get(schema);
      if (!byDocument) bySchema.set(schema, (byDocument = new WeakMap()));
      const given = rules ?? [];
      for (const entry of byDocument.get(documentAST) ?? []) {
        if (sameRules(entry.rules, given)) {
          setResult(entry.result as GraphQLError[]);
          return;
        }
      }
      return ({ result }) => {
        // Read once, each error's stack stops holding V8's record of the frames it was made in, with
        // every rule's visitor and the validation context (README "What a cached document holds").
        for (const error of result) void error.stack;
        const kept = byDocument.get(documentAST) ?? [];
        if (kept.length >= MAX_RULE_SETS) kept.shift();
        kept.push({ rules: [...given], result });
        byDocument.set(documentAST, kept);
      };
    },
  };
}
