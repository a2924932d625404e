import { randomBytes } from 'node:crypto';

/**
 * A JSON text without the UTF-8 byte order mark it may begin with. RFC 8259
 * §8.1: a JSON text must not start with one, but a parser may ignore it, and
 * Windows tools write one (PowerShell 5's `-Encoding UTF8`, Notepad's
 * "UTF-8 with BOM"); JSON.parse refuses it. One character compared: a text
 * without the mark is returned as it is.
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Stands for ±Infinity and -0 while `exactJsonText` writes: a string no value
 * read from outside holds (its random part is made at start and never leaves the process).
 */
const PAST_DOUBLE = `past-double:${randomBytes(16).toString('base64url')}:`;

/**
 * JSON text of a value JSON.parse made that reads back as the same value, where
 * JSON.stringify's does not: a number JSON.parse read as ±Infinity (one past a
 * double's range, `1e400`) is written `1e999` (`-1e999`), where JSON.stringify
 * writes null, and -0 is written `-0`, where it writes 0. `write` is the
 * serialiser, given the replacer that marks those numbers (default
 * JSON.stringify, whose RangeError for a value nested too deep is thrown;
 * given none, the replacer is used only when the value holds such a number).
 * A replacer makes a write about twice as slow (README "Measured choices in
 * the code"): only for texts read again as values (the Redis cache, live
 * updates to other replicas, an operation the WebSocket edge hands to the
 * pipeline).
 */
export function exactJsonText(value: unknown, write?: (value: unknown, replace: (child: unknown) => unknown) => string): string {
  // A replacer also halves how deep JSON.stringify can go (about 4,100 levels to 2,200): with none to mark, none.
  if (!write && !holdsMarkedNumber(value)) return JSON.stringify(value);
  write ??= (root, replace) => JSON.stringify(root, (_key, child: unknown) => replace(child));
  let marked = false;
  const text = write(value, (child) => {
    const mark = numberMark(child);
    if (mark === undefined) return child;
    marked = true;
    return mark;
  });
  return marked
    ? text.replaceAll(`"${PAST_DOUBLE}+"`, '1e999').replaceAll(`"${PAST_DOUBLE}-"`, '-1e999').replaceAll(`"${PAST_DOUBLE}-0"`, '-0')
    : text;
}

/** Whether `value` holds a number `numberMark` marks, at any depth. Iterative: it must not recurse itself. */
function holdsMarkedNumber(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next !== null && typeof next === 'object') {
      // One by one: spread as arguments, a list of some hundred thousand elements overflows the stack.
      for (const child of Array.isArray(next) ? next : Object.values(next)) pending.push(child);
    } else if (numberMark(next) !== undefined) return true;
  }
  return false;
}

/**
 * The marker for a number JSON.stringify would not write back as itself: ±Infinity (written null) and -0 (written
 * 0, while the gateway serves it as the text "-0", src/domain/number-text.ts); undefined for any other value.
 */
export function numberMark(child: unknown): string | undefined {
  if (typeof child !== 'number') return undefined;
  if (!Number.isFinite(child)) return child > 0 ? `${PAST_DOUBLE}+` : `${PAST_DOUBLE}-`;
  return Object.is(child, -0) ? `${PAST_DOUBLE}-0` : undefined;
}
