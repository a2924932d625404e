/**
 * The only place an execution id becomes part of an upstream URL. Ids are checked
 * against the allow-list before any call, percent-encoded, and the resulting path
 * is verified after URL normalisation, so no id can address another upstream path.
 */
import { RE2JS } from 're2js';
import { badUserInput } from '../errors.js';
import { textPrefix } from '../text-prefix.js';

const DOT_SEGMENTS = new Set(['.', '..']);
const PLAIN_SEGMENT = /^[A-Za-z0-9_-]+$/;
const PLAIN_BASE_PATH = /^(?:\/[A-Za-z0-9_-]+)*$/;

/** EXECUTION_ID_PATTERN's default (src/config.ts): 1-64 letters, digits, `_` and `-`. */
export const DEFAULT_EXECUTION_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/**
 * Longest id sent upstream, whatever EXECUTION_ID_PATTERN allows: a pattern
 * such as `^ex_\w+$` bounds no length, and the id becomes a URL path segment
 * (HTTP servers commonly refuse request lines over 8 KiB). Checked before the
 * pattern, so no regular expression runs on a longer text.
 */
export const MAX_EXECUTION_ID_LENGTH = 1024;

/**
 * True when `source` can only match whole ids: it starts with `^`, ends with
 * an unescaped `$`, and has no `|` outside a group or a class. An unanchored
 * pattern (`[a-z]+`) matches any text that merely contains an allowed id, so
 * start-up refuses it (src/config.ts); so is `^ex_\w+|^job_\d+$`, whose `^`
 * and `$` each bind one alternative only (it allows `ex_a/anything`).
 */
export function isAnchoredPattern(source: string): boolean {
  const trailingBackslashes = /\\*(?=\$$)/.exec(source)?.[0].length ?? 0;
  return source.startsWith('^') && source.endsWith('$') && trailingBackslashes % 2 === 0 && !hasTopLevelAlternation(source);
}

/** EXECUTION_ID_PATTERN as the gateway checks ids with it: `source` as configured. */
export interface IdPattern {
  readonly source: string;
  /** Whether `id` matches, in time linear in its length. */
  test(id: string): boolean;
}

/**
 * `source` (a valid, anchored pattern) as an IdPattern. Any caller chooses the ids, and JavaScript's
 * backtracking engine takes time exponential in an id's length on many ordinary patterns: with
 * `^([a-z0-9]+-?)+$`, an id of a few dozen characters and a `!` held the event loop for seconds. So a pattern
 * other than the default runs on re2js, RE2's linear-time engine (a 1,024-character id in milliseconds,
 * whatever the pattern); the default is one bounded class, which cannot backtrack, and runs on V8's,
 * which is faster (README "Measured choices in the code"). Throws what re2js throws for a pattern
 * RE2 cannot read (lookaround, backreferences): re2Refusal tells start-up first.
 */
export function compileIdPattern(source: string): IdPattern {
  if (source === DEFAULT_EXECUTION_ID_PATTERN) return new RegExp(source);
  const compiled = RE2JS.compile(source);
  return { source, test: (id) => compiled.matches(id) };
}

/**
 * Why RE2 cannot read `source`, in re2js's words (``invalid repeat count: `{1,1001}` ``), or undefined when it
 * can, so ids are matched in linear time (compileIdPattern): no lookaround, no backreference, repeats up to 1000.
 */
export function re2Refusal(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^error parsing regexp: /, '');
  }
}

/** Whether `source` (a valid pattern) has a `|` outside every group and character class. */
function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let index = 0; index < source.length; index++) {
    const char = source[index];
    if (char === '\\') index++;
    else if (inClass) inClass = char !== ']';
    else if (char === '[') inClass = true;
    else if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === '|' && depth === 0) return true;
  }
  return false;
}

/** What an allowed id looks like, in words for the default pattern, else the configured pattern itself. */
function describePattern(pattern: IdPattern): string {
  if (pattern.source === DEFAULT_EXECUTION_ID_PATTERN) {
    return `ids are 1-64 characters of letters, digits, "_" and "-" (allowed pattern ${pattern.source})`;
  }
  return `ids must match the allowed pattern ${pattern.source}`;
}

/** Throws BAD_USER_INPUT unless the id is safe and allowed to be sent upstream. */
export function assertAllowedExecutionId(id: string, pattern: IdPattern): void {
  if (id.length === 0) {
    // The example only where the pattern takes it: under an EXECUTION_ID_PATTERN of UUIDs, `ex_acme_7` is refused too.
    const what = pattern.source === DEFAULT_EXECUTION_ID_PATTERN ? 'e.g. `ex_acme_7`' : `one matching the allowed pattern ${pattern.source}`;
    throw badUserInput(`Execution id must not be empty: pass the id of the execution to read, ${what} (an id not known yet, such as a route parameter still loading, is no reason to send the request).`);
  }
  if (id.length > MAX_EXECUTION_ID_LENGTH) {
    // With the default pattern, its own words: "at most 1024" alone invited an id that pattern refuses again.
    const allowed = pattern.source === DEFAULT_EXECUTION_ID_PATTERN ? describePattern(pattern) : `ids are at most ${MAX_EXECUTION_ID_LENGTH} characters`;
    throw badUserInput(`Invalid execution id ${shown(id)}: it is ${id.length} characters long; ${allowed}.`);
  }
  // "." and ".." would address another path whatever the pattern allows.
  if (DOT_SEGMENTS.has(id)) throw badUserInput(`Invalid execution id ${shown(id)}: "." and ".." are never valid ids.`);
  // Half of a UTF-16 pair is no character: no URL can carry it (encodeURIComponent throws), whatever the pattern allows.
  if (LONE_SURROGATE.test(id)) throw badUserInput(`Invalid execution id ${shown(id)}: it holds half of a UTF-16 surrogate pair, which is no character.`);
  if (!pattern.test(id)) {
    // GraphiQL's own `<execution id>` outside the demo, or a `<id>` copied from an example: told it is one to fill in.
    if (PLACEHOLDER.test(id)) throw badUserInput(`Execution id ${shown(id)} is a placeholder: put the id of the execution to read in its place (${describePattern(pattern)}).`);
    throw badUserInput(`Invalid execution id ${shown(id)}: ${describePattern(pattern)}.`);
  }
}

/** An id that is a placeholder still to be filled in: the whole of it in angle brackets. */
const PLACEHOLDER = /^<[^<>]*>$/;

/** A UTF-16 surrogate not in a pair (in `u` mode a pair is one code point, which `\p{Cs}` does not match). */
const LONE_SURROGATE = /\p{Cs}/u;

/** An id as an error message quotes it, cut at 64 characters (63 where the 64th is the first half of a pair: `textPrefix`). */
function shown(id: string): string {
  return JSON.stringify(id.length > 64 ? `${textPrefix(id, 64)}…` : id);
}

/**
 * Builds `<basePath>/v1/executions/<id>` and proves the URL parser keeps it as is.
 * `basePath` is the path of UPSTREAM_URL without its trailing slash.
 */
export function executionPath(origin: string, basePath: string, id: string): string {
  const expected = `${basePath}/v1/executions/${encodeURIComponent(id)}`;
  // Letters, digits, "_" and "-" (the default allow-list) are kept as they are by
  // encoding and by every URL parser; only other ids need the proof below, which
  // costs a URL object per call.
  if (PLAIN_SEGMENT.test(id) && PLAIN_BASE_PATH.test(basePath)) return expected;
  const parsed = new URL(expected, origin);
  if (parsed.pathname !== expected || parsed.search !== '' || parsed.hash !== '') {
    // Unreachable with the allow-list in front; kept as the last line of defence.
    throw badUserInput(`Invalid execution id ${JSON.stringify(id)}.`);
  }
  return expected;
}
