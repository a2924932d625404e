/**
 * A number from upstream's JSON as the text the client is served: what
 * upstream wrote, as far as a double can say. String and JSON.stringify both
 * write -0 as "0", so an id or text field sent as `-0` came back as `"0"`,
 * another value; -0 is the one double they change (JSON.parse reads the text
 * "-0" as -0, and every other finite number round-trips through String).
 */
export function numberText(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}
