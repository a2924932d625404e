/**
 * The names of a JSON object's outermost members, read from its text: JSON.parse keeps the last of two members of
 * one name (RFC 8259 §4 leaves it open), where a cache or filter in front may have read the first. Hand-written
 * because no maintained library tells repeated names without building a second tree of the whole body (a full
 * parser with source positions), and this runs on every JSON POST and every graphql-ws message: one pass that looks
 * at structure characters only, jumping over strings with indexOf.
 *
 * Every function here expects a text JSON.parse took (the request parser, or src/server/websocket.ts, has read it
 * first); on any other text its answer means nothing.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** The index of the quote that closes the string whose opening quote is at `start`, or the text's length. */
function closingQuote(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    // No closing quote (a text JSON.parse refused): the scan ends, rather than start over.
    if (end === -1) return text.length;
    // Escaped when an odd number of backslashes precede it.
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/** The member name whose quotes are at `start` and `end`, as JSON reads it (`"\u0071uery"` is `query`). */
function decodedName(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}

/**
 * How many members the outermost object of `text` has, as written, repeats included: one per colon at depth 1,
 * outside strings (a colon is nothing else in JSON). 0 when the text holds no object at its top.
 */
export function writtenMemberCount(text: string): number {
  let depth = 0;
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) index = closingQuote(text, index);
    else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      // A list at the top (a batch) has no members.
      if (depth++ === 0 && code === OPEN_ARRAY) return 0;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth--;
    else if (code === COLON && depth === 1) count++;
  }
  return count;
}

/**
 * The first name the outermost object of `text` gives twice, decoded (`"\u0071uery"` is `query`), or undefined.
 * `members` is how many distinct names JSON.parse found in it (`Object.keys(parsed).length`): when the text writes
 * as many, no name repeats and nothing more is read, the case of every well-formed request.
 */
export function repeatedMember(text: string, members: number): string | undefined {
  if (writtenMemberCount(text) === members) return undefined;
  const seen = new Set<string>();
  let depth = 0;
  let name = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      const end = closingQuote(text, index);
      if (name) {
        const decoded = decodedName(text, index, end);
        if (seen.has(decoded)) return decoded;
        seen.add(decoded);
        name = false;
      }
      index = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (depth++ === 0) {
        if (code === OPEN_ARRAY) return undefined;
        // The object's first member, or none: `{}`.
        name = true;
      }
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth--;
    else if (code === COMMA && depth === 1) name = true;
  }
  return undefined;
}

/**
 * The text of the value the outermost object of `text` gives member `name` (the last such member, the one JSON.parse
 * keeps), trimmed; undefined when it gives none. For a member of a member: a graphql-ws message's `payload`.
 */
export function memberText(text: string, name: string): string | undefined {
  let depth = 0;
  let found: string | undefined;
  let atName = false;
  let member: string | undefined;
  // Where the value of a member named `name` began, while it is being read; -1 otherwise.
  let valueStart = -1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      const end = closingQuote(text, index);
      if (atName) {
        member = decodedName(text, index, end);
        atName = false;
      }
      index = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (depth++ === 0) {
        if (code === OPEN_ARRAY) return undefined;
        atName = true;
      }
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      if (--depth === 0 && valueStart >= 0) {
        found = text.slice(valueStart, index).trim();
        valueStart = -1;
      }
    } else if (code === COLON && depth === 1) valueStart = member === name ? index + 1 : -1;
    else if (code === COMMA && depth === 1) {
      if (valueStart >= 0) found = text.slice(valueStart, index).trim();
      valueStart = -1;
      atName = true;
    }
  }
  return found;
}
