/**
 * Every error a client receives carries `extensions.code` and nothing of the
 * request it came from. Yoga and graphql-js leave a few without a code (a
 * missing CSRF header, variables that do not match their types); those are
 * problems with the request itself: BAD_REQUEST. A BAD_REQUEST is a 400 whatever
 * the Accept header (Yoga answers a missing query 200 to application/json).
 * Yoga copies the parser's error into `extensions.originalError`, whose message
 * can quote the client's body; it is dropped. Messages are cut at
 * MAX_MESSAGE_LENGTH characters.
 */
import { getOperationAST, Kind, visit, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { ErrorCode, operationNotResolved, withExtensions } from '../errors.js';
import { textPrefix } from '../text-prefix.js';

interface HttpExtension {
  status?: number;
  /** Yoga's mark for a status the GraphQL-over-HTTP spec asks only of application/graphql-response+json. */
  spec?: boolean;
}

/**
 * Longest message sent. graphql-js quotes a variable's or literal's value in
 * coercion errors, whole for strings: a 20 KB variable came back twice.
 */
const MAX_MESSAGE_LENGTH = 500;

/**
 * A variable that does not fit its type, as @graphql-tools/executor's subscribe
 * reports it: coded BAD_USER_INPUT with a 400 and no path, where its execute
 * leaves the same error without a code (so BAD_REQUEST). The code must not
 * depend on the operation type; the gateway's own BAD_USER_INPUT never carries
 * an HTTP status.
 */
function isSubscribeVariableError(error: GraphQLError, http: HttpExtension | undefined): boolean {
  return error.extensions?.code === ErrorCode.BAD_USER_INPUT && http?.status === 400 && error.path === undefined;
}

/** graphql-js's refusal, as the field runs, of a null where an argument (a directive's `if` included) is non-null. */
const NULL_ARGUMENT = /^Argument "[^"]+" of non-null type "([^"]+)!" must not be null\.$/;
/** graphql-js's refusal, as the field runs, of a list or input object argument whose variables' values do not fit it. */
const INVALID_ARGUMENT = /^Argument "[^"]+" has invalid value [\s\S]*\.$/;
/** How much of graphql-js's message, which quotes the written value, is kept before the advice. */
const QUOTED_VALUE_LENGTH = 200;

/**
 * Only a variable with a default, sent as null, gets a null that far (validation refuses the rest), and graphql-js
 * names neither it nor the cause: a client whose generated types let it send `{ withEvents: null }` for
 * `$withEvents: Boolean = true` lost the execution to 'Argument "if" of non-null type "Boolean!" must not be null.'.
 */
function nullArgumentMessage(error: GraphQLError): string | undefined {
  const node = error.nodes?.[0];
  const type = NULL_ARGUMENT.exec(error.message)?.[1];
  if (type !== undefined && node?.kind === Kind.VARIABLE) {
    const name = node.name.value;
    return `${error.message.slice(0, -1)}: variable \`$${name}\` was sent as null, and a null sent replaces the variable's default. Send a value of type \`${type}\`, or leave \`${name}\` out of \`variables\` to use its default.`;
  }
  // A list or input object written around variables: validation checked what is written, so at run time only such
  // a null (an item or field that takes none) makes it invalid, and graphql-js does not say which variable.
  if (!INVALID_ARGUMENT.test(error.message) || !node) return undefined;
  const names: string[] = [];
  visit(node, { Variable: (variable) => void (names.includes(variable.name.value) || names.push(variable.name.value)) });
  if (names.length === 0) return undefined;
  const which = names.length === 1 ? `its variable \`$${names[0]}\` was` : `one of its variables (${names.map((name) => `\`$${name}\``).join(', ')}) was`;
  // The written value is quoted whole; cut, so the advice after it stays within MAX_MESSAGE_LENGTH.
  const refusal = error.message.length > QUOTED_VALUE_LENGTH ? `${textPrefix(error.message, QUOTED_VALUE_LENGTH - 1)}…` : error.message.slice(0, -1);
  return `${refusal}: ${which} sent as null where no null is taken, and a null sent replaces the variable's default. Send a value, or leave it out of \`variables\` to use its default.`;
}

function finished(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown> | undefined;
  const http = extensions?.http as HttpExtension | undefined;
  if (isSubscribeVariableError(error, http)) return finished(withExtensions(error, { ...extensions, code: ErrorCode.BAD_REQUEST }));
  const nullArgument = extensions?.code === undefined ? nullArgumentMessage(error) : undefined;
  if (nullArgument !== undefined) return finished(withExtensions(error, { ...extensions, code: ErrorCode.BAD_REQUEST }, nullArgument));
  // A request that is not GraphQL-over-HTTP at all (no query, params not an object) is a 400 on
  // every media type, as the parsers' failures are (./request-errors.ts); Yoga would answer 200 to application/json.
  const specOnly = extensions?.code === ErrorCode.BAD_REQUEST && http?.spec === true;
  const long = error.message.length > MAX_MESSAGE_LENGTH;
  if (extensions?.code && !('originalError' in extensions) && !specOnly && !long) return error;
  const { originalError: _dropped, ...rest } = extensions ?? {};
  if (specOnly) {
    const { spec: _spec, ...status } = http;
    rest.http = status;
  }
  // Whole characters: a quoted value's emoji cut in half went out as a lone `\ud83d`, which strict JSON readers refuse.
  return withExtensions(error, rest, long ? `${textPrefix(error.message, MAX_MESSAGE_LENGTH - 1)}…` : error.message);
}

/** The result with every error coded and cleaned; the same object when none needed it. */
function withStableErrorCodes<T extends ExecutionResult>(result: T): T {
  const errors = result.errors;
  if (!errors?.length) return result;
  let changed = false;
  const next = errors.map((error) => {
    const done = finished(error);
    if (done !== error) changed = true;
    return done;
  });
  return changed ? { ...result, errors: next } : result;
}

/**
 * Yoga refuses a document whose operation it cannot pick with "Could not
 * determine what operation to execute." (its usePreventMutationViaGET, after
 * parsing, on HTTP requests only), which says neither what the document holds
 * nor what to send. The same check, made just before Yoga's with the parsed
 * document at hand, gives the same code and status with a message naming the
 * operations. It must follow every plugin that reads the parsed document
 * (access log, spans): a throw skips the parse hooks after it.
 */
export function useOperationResolution(): Plugin {
  return { onParse: () => operationResolved };
}

const operationResolved: NonNullable<ReturnType<NonNullable<Plugin['onParse']>>> = ({ result, context }) => {
  const { request, params } = context as { request?: Request; params?: GraphQLParams };
  if (!request || result instanceof Error || result?.kind !== Kind.DOCUMENT) return;
  const document = result as DocumentNode;
  const operationName: unknown = params?.operationName;
  // graphql-js reads a name of any type; only a string can name an operation.
  if (getOperationAST(document, operationName as string | undefined)) return;
  const names = document.definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION ? [definition.name?.value] : []));
  throw operationNotResolved(names, operationName);
};

export function useStableErrorCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result)) return;
      const coded = withStableErrorCodes(result);
      if (coded !== result) setResult(coded);
    },
  };
}
