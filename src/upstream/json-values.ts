/**
 * A bound on how many JSON values one upstream body holds, checked before it
 * is parsed (UPSTREAM_MAX_JSON_VALUES). UPSTREAM_MAX_BODY_BYTES bounds the
 * text, not what JSON.parse makes of it: a body of the same bytes as a real
 * execution's, made of tiny values (`[{},{},…]` inside an event's `data`),
 * took about 15 times the heap per byte, and tens of millions of them held the
 * event loop for over a minute while every other request waited. By hand: no
 * JSON parser bounds the number of values it makes.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;

/**
 * The commas and opening brackets of JSON `text` outside its strings, stopping
 * once past `bound`: at least the number of values it holds less one (each
 * value is the text's root, the first in its array or object, whose bracket
 * counts, or follows a comma), and at most twice that. Text that is not JSON
 * gets some count, never an error: JSON.parse refuses it after.
 */
export function jsonValueMarks(text: string, bound: number): number {
  let marks = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      // A string's text is skipped in one jump per quote inside it: in a real body most characters are in strings.
      let end = index;
      for (;;) {
        end = text.indexOf('"', end + 1);
        if (end < 0) return marks;
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
        if ((backslashes & 1) === 0) break;
      }
      index = end;
    } else if (code === COMMA || code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++marks > bound) return marks;
    }
  }
  return marks;
}

/**
 * True when `text` holds more than `maxValues` JSON values by `jsonValueMarks`.
 * Text of at most 1.5 × `maxValues` characters is never scanned: every mark
 * but the first needs a value of at least one character and a closing bracket
 * or a comma around it (`[],` is three characters for two marks), so such text
 * cannot pass the bound, and a status poll pays nothing for it.
 */
export function holdsMoreJsonValues(text: string, maxValues: number): boolean {
  if (text.length <= maxValues * 1.5) return false;
  return jsonValueMarks(text, maxValues) > maxValues;
}
