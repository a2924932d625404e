/**
 * The first `max` UTF-16 code units of `text`, one fewer where the cut would keep the first half of a surrogate
 * pair: a lone surrogate is no character, and JSON writers and log shippers turn it into `\ud83d` or U+FFFD.
 * For values that are bounded before they are served or logged (upstream's request ids, unknown statuses, a
 * refused setting's value).
 */
export function textPrefix(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
