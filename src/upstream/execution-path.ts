/**
 * The only place an execution id becomes part of an upstream URL. Ids are checked
 * against the allow-list before any call, percent-encoded, and the resulting path
 * is verified after URL normalisation, so no id can address another upstream path.
 */
import { badUserInput } from '../errors.js';

const DOT_SEGMENTS = new Set(['.', '..']);
const PLAIN_SEGMENT = /^[A-Za-z0-9_-]+$/;
const PLAIN_BASE_PATH = /^(?:\/[A-Za-z0-9_-]+)*$/;

/** Throws BAD_USER_INPUT unless the id is safe and allowed to be sent upstream. */
export function assertAllowedExecutionId(id: string, pattern: RegExp): void {
  if (id.length === 0) throw badUserInput('Execution id must not be empty.');
  if (DOT_SEGMENTS.has(id) || !pattern.test(id)) {
    const shown = id.length > 64 ? `${id.slice(0, 64)}…` : id;
    throw badUserInput(
      `Invalid execution id ${JSON.stringify(shown)}: ids are 1-64 characters of letters, digits, "_" and "-" (allowed pattern ${pattern.source}).`,
    );
  }
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
