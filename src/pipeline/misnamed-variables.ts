/**
 * A required variable missing while `variables` holds a name the operation does not declare (`{"Id": "x"}` for
 * `$id`, `{"executionId": …}` for `$id`) is refused as graphql-js refuses any missing one (BAD_REQUEST, 400), but
 * saying which name was sent: graphql-js's "Variable "$id" of required type "ID!" was not provided." sent the
 * client looking for a value it had sent. An optional variable missing beside an undeclared name that is plainly it
 * (`{"After": …}` or `{"events_after": …}` for `$eventsAfter`: the same letters in another case, `_` or `-` aside) is
 * refused the same way: graphql-js reads it as not given, and a frontend was served the first page again, or every
 * level, with no error. Only the same letters: a name a letter off (`list` beside `$last`) may be another
 * operation's, sent from one shared variables object, as graphql-js allows.
 * Checked on the values as parsed, before graphql-js coerces them.
 */
import { getOperationAST, Kind, print, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { variableNotGiven } from '../errors.js';
import { textPrefix } from '../text-prefix.js';

/** Names quoted in the message, at most; a client may send thousands. */
const SHOWN_NAMES = 3;

/** A name as the message quotes it: in backticks when plain, else as JSON, cut at 40 characters on a character's boundary (a name is the client's, emoji and all). */
function shown(name: string): string {
  return /^[A-Za-z0-9_$-]{1,40}$/.test(name) ? `\`${name}\`` : JSON.stringify(name.length > 40 ? `${textPrefix(name, 40)}…` : name);
}

/** Letters a name differs by from another (Levenshtein), up to `max`; past it, max + 1. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Longest declared name compared letter by letter, and most letter pairs one request's comparisons may take. A
 * comparison costs the product of the two names' lengths, on the event loop, for anyone: a 64 KiB request declaring
 * a name of 16,000 characters and sending two of about that length held the process for 47 s, one of 1,000 and three
 * for 0.7 s; and a 64 KiB body holds about 900 sent names of 64 letters, 3.7 million pairs against one declared name.
 * Variable names are words (`id`, `eventsAfter`): past these bounds only another spelling of the name is told (only a
 * required variable is compared letter by letter, and the first one missing ends the check).
 */
const MAX_COMPARED_LENGTH = 64;
const MAX_COMPARED_PAIRS = 250_000;

/**
 * The undeclared name most likely meant for `name`: the same letters in another case (`_` and `-` aside), or a few
 * letters off (`lettersOff`: false, the same letters only; `budget.pairs`, the letter pairs left to this request,
 * spent here; `budget.byLetters`, the sent names by `spelling`, made at the first call); else undefined.
 */
function meantFor(name: string, undeclared: readonly string[], budget: { pairs: number; byLetters?: Map<string, string> }, lettersOff = true): string | undefined {
  const lower = name.toLowerCase();
  // Each sent name's spelling once per request, not once per missing variable: with optional variables compared
  // too, 3,000 declared beside 3,000 sent (55 KB) cost 9 million conversions, 0.15 to 0.35 s, per request.
  budget.byLetters ??= namesBySpelling(undeclared);
  const sameLetters = budget.byLetters.get(spelling(name));
  if (sameLetters !== undefined || !lettersOff || name.length > MAX_COMPARED_LENGTH || budget.pairs < 0) return sameLetters;
  const max = Math.max(1, Math.floor(name.length / 3));
  for (const sent of undeclared) {
    // Each name looked at costs one pair, compared or not: 3,000 optional variables missing beside 3,000 names of
    // other lengths were 9 million looks, none of them counted.
    if (--budget.pairs < 0) return undefined;
    // `distance` refuses a length more than `max` off before it compares a letter.
    if (Math.abs(sent.length - name.length) > max) continue;
    budget.pairs -= sent.length * name.length;
    if (budget.pairs >= 0 && distance(sent.toLowerCase(), lower, max) <= max) return sent;
  }
  return undefined;
}

/** A name's letters and digits in lower case, without `_` and `-`: `events_after`, `EventsAfter` and `eventsAfter` are one. */
function spelling(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/** Each name by its `spelling`, the first sent of any two spelt alike. */
function namesBySpelling(names: readonly string[]): Map<string, string> {
  const byLetters = new Map<string, string>();
  for (const name of names) {
    const key = spelling(name);
    if (!byLetters.has(key)) byLetters.set(key, name);
  }
  return byLetters;
}

/**
 * The refusal of the operation's first variable that `variables` lacks while it holds names the operation does not
 * declare (BAD_REQUEST, 400), naming them: any required one, and an optional one only where an undeclared name is
 * spelt as it is (`meantFor` without letters off); undefined otherwise (graphql-js then says what it says).
 */
export function misnamedVariableError(document: DocumentNode, operationName: string | null | undefined, variables: unknown): ExecutionResult | undefined {
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) return undefined;
  const sent = Object.keys(variables);
  if (sent.length === 0) return undefined;
  const definitions = getOperationAST(document, operationName)?.variableDefinitions ?? [];
  const declared = new Set(definitions.map((definition) => definition.variable.name.value));
  const undeclared = sent.filter((name) => !declared.has(name));
  if (undeclared.length === 0) return undefined;
  const budget: { pairs: number; byLetters?: Map<string, string> } = { pairs: MAX_COMPARED_PAIRS };
  for (const definition of definitions) {
    const name = definition.variable.name.value;
    if (Object.hasOwn(variables, name) && (variables as Record<string, unknown>)[name] !== undefined) continue;
    const required = definition.type.kind === Kind.NON_NULL_TYPE && definition.defaultValue === undefined;
    const meant = meantFor(name, undeclared, budget, required);
    if (!required && meant === undefined) continue;
    const listed = (meant === undefined ? undeclared : [meant]).slice(0, SHOWN_NAMES).map(shown).join(', ');
    const more = meant === undefined && undeclared.length > SHOWN_NAMES ? ` and ${undeclared.length - SHOWN_NAMES} more` : '';
    const advice =
      meant === undefined
        ? `; send the value as \`${name}\`, the name the operation declares (without its \`$\`)`
        : `; did you mean \`$${name}\`? Send it as \`"${name}"\` in variables`;
    const kind = required ? 'required type' : 'type';
    const message = `Variable "$${name}" of ${kind} "${print(definition.type)}" was not provided: variables has ${listed}${more}, which the operation does not declare${advice}.`;
    return { errors: [variableNotGiven(message, definition)] };
  }
  return undefined;
}

export function useMisnamedVariables(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = misnamedVariableError(args.document, args.operationName, args.variableValues);
      if (refused) setResultAndStopExecution(refused);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = misnamedVariableError(args.document, args.operationName, args.variableValues);
      if (refused) setResultAndStopExecution(refused);
    },
  };
}
