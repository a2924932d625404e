/**
 * Limits on what one GraphQL operation may ask for, sized for this schema and
 * enforced with GraphQL Armor's envelop plugins during validation, before any
 * resolver or upstream call runs. Their values are settings (OPERATION_MAX_*,
 * src/config.ts), handed to every function here that enforces them: no value is
 * read from anywhere else. README "Operation limits" lists them.
 *
 * Sizing: the deepest useful query, with cursors at both levels (execution →
 * events → edges → node → execution → events → edges → node → field), has
 * depth 9, as a Relay client writes it; the standard introspection
 * query (graphql-js, GraphiQL) is 15 deep by Armor's count.
 * The static cost (Armor's model, counted by ./operation-cost.ts so that fragments
 * cost what they would inline) multiplies by `first`/`last` only when they are literals
 * and cannot see the length of `ids`, so list sizes are also capped at run
 * time (src/request/scope.ts: executions and events per request).
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  BREAK,
  getNamedType,
  GraphQLInt,
  isIntrospectionType,
  NoSchemaIntrospectionCustomRule,
  visit,
  visitInParallel,
  type ASTVisitor,
  type ASTNode,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  GraphQLError,
  type OperationDefinitionNode,
  type ParseOptions,
  type Source,
  type ValidationContext,
  type ValidationRule,
  validate,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { OperationsConfig } from '../config.js';
import { parseFailed, validationFailed } from '../errors.js';
import { operationCostCounter } from './operation-cost.js';
import { SPEC_RULES } from './spec-rules.js';

/**
 * What one operation may ask for, each the value of its setting (src/config.ts, OPERATION_MAX_*):
 * `maxDepth`, depth of data fields (introspection excluded); `maxIntrospectionDepth`, depth of an
 * operation that asks for introspection, all its fields counted; `maxAliases`, every alias, `__typename`
 * ones too (Armor exempts those by default); `maxDirectives`; `maxTokens`, as the parser counts them;
 * `maxCost`, Armor's static cost model (1 per scalar, 2 per object, ×1.5 per level, × a literal
 * `first`/`last`), fragments counted as if inline (./operation-cost.ts): by default (25,000) the
 * execution page operation (schema/operations/execution-page.graphql) with a literal `first: 100`
 * costs 10,408.25, so two under aliases pass and three do not; nested 100-event pages cost hundreds
 * of thousands.
 */
export type OperationLimits = OperationsConfig;

/** The start of graphql-js's hint, which runs to the next `?`. */
const SUGGESTION = 'Did you mean ';

/**
 * What a client can change when a limit refuses an operation, by limit: chosen by the rule that refused, not read
 * back from its message, since two limits set to the same value (the two depths) print the same message.
 */
const LIMIT_ADVICE = {
  // Only introspection nests past the data fields' limit: no execution to split off.
  introspectionDepth: 'Nest fewer `ofType` levels: the standard introspection query (graphql-js, GraphiQL, codegen) is 15 deep and passes.',
  depth: 'Select less deeply nested fields, or ask for the nested execution in a query of its own.',
  aliases: 'Use fewer aliases: several executions at once are one `executions(ids: […])` field.',
  directives: 'Use fewer directives.',
  cost: 'Ask for fewer events per page (a smaller `first` or `last`), or fewer fields and nested pages under them.',
  // Armor's parser stops at the limit, so this one cannot say how many tokens the document has.
  tokens: 'Send a shorter document: fewer fields and aliases, and values as variables (a list of ids in `$ids` is one token).',
} as const;

/** Armor's message (it states the limit and what was found) followed by what to change. */
function limitMessage(armorMessage: string, advice: string): string {
  return `${armorMessage.replace(/^Syntax Error: /, '')} ${advice}`;
}

/** Strips the "Did you mean …?" hints graphql-js's executor puts in variable errors. */
export function withoutSuggestions(result: ExecutionResult): void {
  for (const error of result.errors ?? []) if (error.message.includes(SUGGESTION)) error.message = withoutHints(error.message);
}

/**
 * `message` without each ` Did you mean …?` (the space before it optional), as `/ ?Did you mean [^?]*\?/g` removes
 * them, in one pass. That expression scanned to the end of the message from every "Did you mean " with no `?` after
 * it, and graphql-js quotes a variable's value whole: a 62 KB string of "Did you mean " given for an enum held the
 * process for 5 to 9 s, without a token, wherever suggestions are hidden (production).
 */
function withoutHints(message: string): string {
  let kept = '';
  let from = 0;
  for (;;) {
    const at = message.indexOf(SUGGESTION, from);
    if (at < 0) break;
    const end = message.indexOf('?', at + SUGGESTION.length);
    // No `?` after this one: none after any later one either.
    if (end < 0) break;
    kept += message.slice(from, at > from && message[at - 1] === ' ' ? at - 1 : at);
    from = end + 1;
  }
  return kept + message.slice(from);
}

/**
 * Hides "Did you mean …?" hints, which map out the schema for a probing client.
 * Armor's block-field-suggestions only knows the field form of the hint; this
 * asks graphql-js not to make any during validation; `withoutSuggestions` strips
 * the ones the executor adds for variables (enum values, input fields), as part
 * of what every result gets after execution (./execution-finish.ts).
 */
function useHideSuggestions(): Plugin {
  return {
    onValidate({ validateFn, setValidationFn }) {
      // graphql-js: validate(schema, document, rules, options, typeInfo).
      setValidationFn((schema, document, rules, options, typeInfo) =>
        validateFn(schema, document, rules, { ...options, hideSuggestions: true }, typeInfo),
      );
    },
  };
}

/**
 * graphql-js (16.15) stops validating once comparing overlapping fields passes
 * its work budget, about 700 fields in one selection set, and reports a bare
 * "Validation aborted." that says neither why nor what to change. It stays a
 * GRAPHQL_VALIDATION_FAILED, with a message that says both.
 */
function useValidationBudget(): Plugin {
  const explain = (error: GraphQLError) =>
    error.message === 'Validation aborted.' && !error.locations
      ? validationFailed(
          'The document is too large to validate: graphql-js gave up comparing its fields with one another. Select fewer fields in one selection set, or split the request.',
        )
      : error;
  return {
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((schema, document, rules, options, typeInfo) => {
        let errors: readonly GraphQLError[];
        try {
          errors = validateFn(schema, document, rules, options, typeInfo);
        } catch (error) {
          // The rules follow fragment spreads by recursion (graphql-js's cycle check, Armor's depth): a chain of
          // 2,000 fragments each spreading the next (61 KB, 16,000 tokens, within a raised OPERATION_MAX_TOKENS)
          // overflowed the stack, a masked 500 logged as the gateway's failure. It is a document too deep to check.
          if (!(error instanceof RangeError)) throw error;
          return [tooDeepToValidate()];
        }
        return errors.length === 0 ? errors : errors.map(explain);
      });
    },
  };
}

/** Made for each request: a result's errors are its own to locate and reword. */
const tooDeepToValidate = () =>
  validationFailed(
    'The document is too deeply nested to validate: its fragments spread one another, or its selections nest, further than the gateway follows. Spread fewer fragments inside one another, or split the request.',
  );

/**
 * Parsing within the limits, for every request: the token limit, which Armor's
 * parser counts as it reads (there is no validation context yet, so it is a
 * parse error), and the stack. graphql-js parses nested values by recursion:
 * a list literal nested about 1,900 deep (3.8 KB, under the token limit)
 * overflows the stack of a freshly started process, which Yoga would answer as
 * a masked 500 and log with its stack. It is a document the parser cannot
 * read: a 400 GRAPHQL_PARSE_FAILED. One plugin and functions made once: a
 * cached document costs only the hook's call.
 */
function useParseLimits(limits: Pick<OperationLimits, 'maxTokens'>): Plugin {
  const done: NonNullable<ReturnType<NonNullable<Plugin['onParse']>>> = ({ result, replaceParseResult }) => {
    if (result instanceof RangeError) replaceParseResult(parseFailed('Syntax Error: the document is nested too deeply to parse.'));
  };
  const parse = (source: string | Source, options?: ParseOptions) => parseWithinLimits(source, limits, options);
  return {
    onParse({ setParseFn }) {
      setParseFn(parse);
      return done;
    },
  };
}

/** The node without its `__type` fields (and what they select). */
function withoutTypeIntrospection<T extends ASTNode>(node: T): T {
  return visit(node, { Field: (field) => (field.name.value === '__type' ? null : undefined) });
}

/**
 * An Armor rule that ignores introspection (`ignoreIntrospection`), made to
 * ignore `__type` as it ignores `__schema`: Armor knows introspection by the
 * name `__schema` alone, so one type's introspection (graphql-js's FullType
 * fragment under `__type(name:)`) was held to the data fields' depth and cost,
 * refused where the same fragment under `__schema` ran. Its visitor reads the
 * operation it is handed and the fragments `getFragment` gives: both come
 * without `__type`, which the introspection depth limit still counts.
 */
function ignoringTypeIntrospection(rule: (context: ValidationContext) => object): ValidationRule {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode | undefined>();
    const getFragment = (name: string) => {
      if (!fragments.has(name)) {
        const fragment = context.getFragment(name);
        fragments.set(name, fragment ? withoutTypeIntrospection(fragment) : undefined);
      }
      return fragments.get(name);
    };
    // Everything else (reportError among it) is the request's own context.
    const view = Object.create(context, { getFragment: { value: getFragment } }) as ValidationContext;
    const visitor = rule(view) as { OperationDefinition: { enter(this: unknown, node: OperationDefinitionNode): void } };
    return {
      OperationDefinition(node) {
        visitor.OperationDefinition.enter.call(visitor, withoutTypeIntrospection(node));
      },
    };
  };
}

/** Root fields of introspection: names starting with `__` are the spec's own, so a field so named is nothing else. */
const INTROSPECTION_ROOTS: ReadonlySet<string> = new Set(['__schema', '__type']);

/** Whether `operation`, or a fragment it spreads at any depth, asks for `__schema` or `__type`. */
function asksIntrospection(context: ValidationContext, operation: OperationDefinitionNode): boolean {
  let asks = false;
  const visitor = {
    Field(field: FieldNode) {
      if (!INTROSPECTION_ROOTS.has(field.name.value)) return undefined;
      asks = true;
      return BREAK;
    },
  };
  for (const node of [operation, ...context.getRecursivelyReferencedFragments(operation)]) {
    visit(node, visitor);
    if (asks) return true;
  }
  return false;
}

/**
 * The introspection depth rule (depth of all fields) held to operations that ask for introspection: one that does not
 * has no field the data fields' rule leaves out, and that rule's limit is never above this one's (src/config.ts), so
 * its refusal said the same thing a second time, told to "nest fewer `ofType` levels" (a data query 30 deep got both).
 */
function whenAskingIntrospection(rule: (context: ValidationContext) => object): ValidationRule {
  return introspectionOnly((context) => {
    const visitor = rule(context) as { OperationDefinition: { enter(this: unknown, node: OperationDefinitionNode): void } };
    return {
      OperationDefinition(node) {
        if (asksIntrospection(context, node)) visitor.OperationDefinition.enter.call(visitor, node);
      },
    };
  });
}

/** Rules that judge only introspection: left out with INTROSPECTION=false (`limitRules`). */
const INTROSPECTION_ONLY = new WeakSet<ValidationRule>();
function introspectionOnly(rule: ValidationRule): ValidationRule {
  INTROSPECTION_ONLY.add(rule);
  return rule;
}

/** The Ints GraphQL takes: 32-bit signed integers, -2147483648 included (GraphQL spec §3.5.1, as graphql-js reads them). */
const GRAPHQL_INT_MIN = -(2 ** 31);
const GRAPHQL_INT_MAX = 2 ** 31 - 1;

/**
 * The cost rule, whose errors are dropped when the document gives an Int argument (or an Int in a list, or
 * a variable's default) a literal past 32 bits: graphql-js's own rule refuses the document for it ("Int cannot
 * represent"), and Armor multiplied by `first: 2147483648` all the same, so a cost error of billions stood
 * beside it, asking for a change that was not the one needed. Only where the input type is Int: a Float
 * takes such a literal, and that document is still held to the cost limit. Its errors wait for the end of
 * the document, since the literal may come after the operation the cost was counted on.
 */
function unlessIntOverflows(rule: ValidationRule): ValidationRule {
  return (context) => {
    let overflows = false;
    const held: GraphQLError[] = [];
    const costs = rule(Object.create(context, { reportError: { value: (error: GraphQLError) => held.push(error) } }) as ValidationContext);
    const overflow: ASTVisitor = {
      IntValue(node) {
        // Not by Math.abs: -2147483648 is an Int, and a document holding it anywhere passed the cost limit, unrefused.
        const value = Number(node.value);
        if (getNamedType(context.getInputType()) === GraphQLInt && (value > GRAPHQL_INT_MAX || value < GRAPHQL_INT_MIN)) overflows = true;
      },
      Document: {
        leave() {
          if (!overflows) for (const error of held) context.reportError(error);
        },
      },
    };
    return visitInParallel([costs, overflow]);
  };
}

/**
 * Introspection asks for each thing once: `__schema` and the fields of
 * introspection types take no alias. Aliases were the one way to multiply
 * introspection, which the cost limit does not count: 30 aliases of
 * `__schema { types { ...FullType } }` (4 KB, within every other limit)
 * answered megabytes for a large share of a second of CPU, with no token (README "Measured choices in the code"). Without aliases,
 * repeated selections merge into one answer. Tools do not alias there; Apollo
 * Kotlin aliases `__type`, which stays allowed (each is one type).
 */
const introspectionUnaliased: ValidationRule = introspectionOnly((context) => ({
  Field(node) {
    const name = node.name.value;
    if (!node.alias || node.alias.value === name || name === '__typename') return;
    const parent = context.getParentType();
    if (name === '__schema' || (parent && isIntrospectionType(parent))) {
      context.reportError(
        validationFailed(
          `Introspection fields take no aliases: "${node.alias.value}: ${name}" asks for ${parent ? `${parent.name}.` : ''}${name} under another name. Ask for each introspection field once, under its own name.`,
        ),
      );
    }
  },
}));

/** Where a client refused introspection (INTROSPECTION=false) finds the schema, as TRUSTED_DOCUMENTS=only's refusal says. */
const INTROSPECTION_OFF_ADVICE =
  'Take the schema from schema/schema.graphql of the release this gateway runs, or introspect a gateway that serves it (INTROSPECTION=true).';

/**
 * The introspection switch: graphql-js's rule, reporting only the fields that
 * enter introspection (`__schema`, `__type`, wherever they are). The rule
 * reports every field whose type is an introspection type, so the full
 * introspection query got one error per field below `__schema`, each naming a
 * field that was not what was refused (`kind`, `queryType`), and
 * graphql-codegen printed them all. Each says where the schema is instead:
 * graphql-js's words alone left a frontend's codegen, pointed at a production
 * gateway, with nothing to try next.
 */
const noIntrospection: ValidationRule = (context) => {
  const reportError = (error: GraphQLError) => {
    const parent = context.getParentType();
    if (!parent || !isIntrospectionType(parent)) context.reportError(new GraphQLError(`${error.message} ${INTROSPECTION_OFF_ADVICE}`, { nodes: error.nodes }));
  };
  return NoSchemaIntrospectionCustomRule(Object.create(context, { reportError: { value: reportError } }) as ValidationContext);
};

/**
 * A plugin adding `rules` to every request's validation, in order; made once, so the validation cache matches them at
 * once. One plugin for all: envelop builds a payload with five closures for each onValidate hook of each request.
 * envelop's `useValidationRule` adds one rule, and is typed for envelop's own context, which Yoga's plugin list refuses.
 */
function useRules(rules: readonly ValidationRule[]): Plugin {
  return {
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}

export interface OperationLimitOptions {
  introspection: boolean;
  /** Give "Did you mean …?" hints, which map out the schema to a probing client. */
  fieldSuggestions: boolean;
  /** The limits' values (OPERATION_MAX_*). */
  limits: OperationLimits;
}

/** The settings a document is validated under: the introspection switch and the limits. */
export type RuleSettings = Pick<OperationLimitOptions, 'introspection' | 'limits'>;

// Armor's messages state the limit (exposeLimits). Its default is to throw from
// inside validation, which surfaces as a 200 without a code; reporting the
// error instead makes it an ordinary 400 validation error with a stable code.
function reported(advice: string) {
  return {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(validationFailed(limitMessage(error.message, advice)))],
  };
}

/**
 * The static cost rule: each operation's cost (./operation-cost.ts, Armor's model with fragments counted inline),
 * handed to `onCost` with the context it was counted in. Its visitor has Armor's shape, for the wrappers above.
 */
function costRule(onCost: (context: ValidationContext, cost: number) => void): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const count = operationCostCounter((name) => context.getFragment(name));
    return { OperationDefinition: { enter: (operation) => onCost(context, count(operation)) } };
  };
}

/** A cost as a whole number, rounded up so that a cost just past the limit never reads as the limit itself. */
function wholeCost(cost: number): string {
  return Number.isFinite(cost) ? BigInt(Math.ceil(cost)).toString() : String(cost);
}

/** Past `maxCost`, Armor's message (exposeLimits) with a whole-number cost, and what to change. */
function costLimit(maxCost: number): (context: ValidationContext) => ASTVisitor {
  return costRule((context, cost) => {
    if (cost > maxCost) context.reportError(validationFailed(limitMessage(`Query Cost limit of ${maxCost} exceeded, found ${wholeCost(cost)}.`, LIMIT_ADVICE.cost)));
  });
}

/** Each operation's static cost in `document`, as the cost limit counts it (introspection left out, as it is there). */
export function operationCosts(schema: GraphQLSchema, document: DocumentNode): number[] {
  const costs: number[] = [];
  validate(schema, document, [ignoringTypeIntrospection(costRule((_context, cost) => void costs.push(cost)))]);
  return costs;
}

/**
 * Every limit but tokens (which the parser counts: `parseWithinLimits`), as
 * the validation rules the pipeline adds to each request's validation, made
 * for `limits`. The schema check validates known documents with them too
 * (scripts/known-documents.ts): a document the gateway refuses never passes it.
 */
export function operationLimitRules(limits: OperationLimits): readonly ValidationRule[] {
  return [
    ...armorRules((key) => ({ ...reported(LIMIT_ADVICE[ADVICE_OF[key]]), n: limits[key] })),
    // Fragments counted as if inline, as for depth (./operation-cost.ts): Armor's own rule charged each spread and each
    // fragment's body on top of its fields, so two aliased execution pages written with their fragments were refused
    // where the same selection inline passed.
    unlessIntOverflows(ignoringTypeIntrospection(costLimit(limits.maxCost))),
    introspectionUnaliased,
  ];
}

/** The limits Armor's rules count (tokens are the parser's, cost ./operation-cost.ts's). */
type ArmorLimit = 'maxDepth' | 'maxIntrospectionDepth' | 'maxAliases' | 'maxDirectives';

const ADVICE_OF: Record<ArmorLimit, keyof typeof LIMIT_ADVICE> = {
  maxDepth: 'depth',
  maxIntrospectionDepth: 'introspectionDepth',
  maxAliases: 'aliases',
  maxDirectives: 'directives',
};

/** What each Armor rule is given besides how it counts: its limit, and what it does past it and within it. */
interface ArmorOptions {
  n: number;
  exposeLimits?: boolean;
  propagateOnRejection?: boolean;
  onReject?: Array<(context: ValidationContext | null, error: GraphQLError) => void>;
  onAccept?: Array<(context: ValidationContext | null, details: { n: number }) => void>;
}

/**
 * Armor's rules, each counting as the gateway counts (`__type` left out of the data fields' depth as `__schema` is,
 * fragments flattened, `__typename` aliases counted), with `options(limit)`: one place, so what start-up measures of
 * the gateway's own operations (`leastLimits`) is what requests are refused by.
 */
function armorRules(options: (limit: ArmorLimit) => ArmorOptions): ValidationRule[] {
  return [
    ignoringTypeIntrospection(maxDepthRule({ ...options('maxDepth'), ignoreIntrospection: true, flattenFragments: true })),
    whenAskingIntrospection(maxDepthRule({ ...options('maxIntrospectionDepth'), ignoreIntrospection: false, flattenFragments: true })),
    maxAliasesRule({ ...options('maxAliases'), allowList: [] }),
    maxDirectivesRule(options('maxDirectives')),
  ];
}

/**
 * The least value of each limit under which every operation of `text` passes, as the rules here count it: its tokens,
 * each Armor rule's count, its static cost rounded up. Throws the parser's GraphQLError when `text` does not parse.
 */
export function leastLimits(schema: GraphQLSchema, text: string): OperationLimits {
  const parser = new MaxTokensParserWLexer(text, { n: Number.MAX_SAFE_INTEGER });
  const document = parser.parseDocument();
  const least: { -readonly [K in keyof OperationLimits]: number } = { maxDepth: 0, maxIntrospectionDepth: 0, maxAliases: 0, maxDirectives: 0, maxTokens: parser.tokenCount, maxCost: 0 };
  validate(
    schema,
    document,
    armorRules((limit) => ({ n: Number.MAX_SAFE_INTEGER, onAccept: [(_context, { n }) => void (least[limit] = Math.max(least[limit], n))] })),
  );
  for (const cost of operationCosts(schema, document)) least.maxCost = Math.max(least.maxCost, Math.ceil(cost));
  return least;
}

/** How Armor's token-limit syntax error begins (exposeLimits). */
const TOKEN_LIMIT_MESSAGE = 'Syntax Error: Token limit of';

/**
 * Parses as the pipeline does under `limits` (with graphql-js's parse `options`): past `maxTokens`, Armor's syntax
 * error (a GraphQLError) with what to change.
 */
export function parseWithinLimits(source: string | Source, limits: Pick<OperationLimits, 'maxTokens'>, options?: ParseOptions): DocumentNode {
  try {
    return new MaxTokensParserWLexer(source, { ...options, n: limits.maxTokens, exposeLimits: true }).parseDocument();
  } catch (error) {
    if (!(error instanceof GraphQLError) || !error.message.startsWith(TOKEN_LIMIT_MESSAGE)) throw error;
    throw new GraphQLError(limitMessage(error.message, LIMIT_ADVICE.tokens), { source: error.source, positions: error.positions });
  }
}

/** The limits' rules under the introspection switch, as the pipeline adds them to each request's validation. */
function limitRules({ introspection, limits }: RuleSettings): readonly ValidationRule[] {
  const rules = operationLimitRules(limits);
  // With introspection off, the rules that judge only introspection (its aliases, its depth) would stand beside the
  // one refusing it, asking for a change that cannot help: "nest fewer `ofType` levels … the standard introspection
  // query … passes", of a query refused whatever its depth.
  return introspection ? rules : [...rules.filter((rule) => !INTROSPECTION_ONLY.has(rule)), noIntrospection];
}

/**
 * Every rule a request's document is validated with under these settings: the spec's current rules
 * (./spec-rules.ts) and the limits. What else validates a document the gateway will be sent (the manifest's at
 * start, ./trusted-documents.ts; the schema check's known documents, scripts/known-documents.ts) takes them from
 * here, so that it passes no document every request of which is refused.
 */
export function requestRules(settings: RuleSettings): readonly ValidationRule[] {
  return [...SPEC_RULES, ...limitRules(settings)];
}

/** The plugins that hold every request to `options.limits`, on every lane and transport; made once per gateway. */
export function useOperationLimits(options: OperationLimitOptions): Plugin[] {
  const plugins: Plugin[] = [
    useParseLimits(options.limits),
    useRules(limitRules(options)),
    useValidationBudget(),
  ];
  if (!options.fieldSuggestions) plugins.push(useHideSuggestions());
  return plugins;
}
