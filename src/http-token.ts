/**
 * A `tchar`, a character of an HTTP `token` (RFC 9110 §5.6.2), as the source of
 * a RegExp character class: methods, auth schemes and WebSocket subprotocol
 * names are tokens, and each reader builds its pattern from this one class.
 */
export const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
