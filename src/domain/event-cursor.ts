/**
 * Events cursors name an event by identity, not by offset: the execution id,
 * the event id, and which occurrence of that id it is in upstream's list (two
 * events can share an id; upstream only appends, so the n-th occurrence stays
 * the n-th). A cursor keeps pointing at the same event while upstream appends
 * more and when the filter changes. They are opaque: base64url JSON plus a
 * short checksum, so a truncated or edited cursor is reported as such instead
 * of silently paging from elsewhere. The checksum is for integrity, not
 * secrecy: cursors only name events the caller can already read.
 *
 * Formats: `[1, executionId, eventId]` names the first occurrence (every cursor
 * made before duplicates were told apart is one, and keeps working);
 * `[2, executionId, eventId, occurrence]` names a later one;
 * `[0, executionId]` names the start of the list, before every event (what a
 * live update that has gone past no event hands out, so that resuming from it
 * misses none);
 * `[3, executionId, digest, occurrence]` names an event whose id is longer
 * than LONGEST_ID_IN_CURSOR by the id's sha256 (`eventIdDigest`), so that
 * every cursor the gateway makes is one it takes back (at most
 * MAX_CURSOR_LENGTH), whatever upstream's ids.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Longest event id a cursor carries as it is; a longer one is carried as its sha256 (format 3). */
export const LONGEST_ID_IN_CURSOR = 256;

/** Longest cursor taken back: a bound on the work a client's argument can cause. */
const MAX_CURSOR_LENGTH = 8192;

export interface EventCursor {
  executionId: string;
  /** The event's id; with `digest`, the sha256 of it (see `eventIdDigest`). */
  eventId: string;
  /** 0 for the first event with this id in upstream's list, 1 for the second, … */
  occurrence: number;
  /** Present (true) when `eventId` is the digest of an id longer than LONGEST_ID_IN_CURSOR. */
  digest?: true;
  /** Present (true) for the start of the list, before every event (`eventId` is then empty). */
  start?: true;
}

/** The cursor of the start of an execution's list of events, before every event. */
export function encodeStartCursor(executionId: string): string {
  const payload = Buffer.from(JSON.stringify([0, executionId])).toString('base64url');
  return `${payload}.${checksum(payload)}`;
}

/**
 * Marks the UTF-16 form of an id that is no well-formed UTF-16: 0xFF occurs in
 * no UTF-8, so that form's bytes never equal a well-formed id's UTF-8.
 */
const UTF16_FORM = Buffer.from([0xff]);

/** A lone surrogate: with the `u` flag a paired one is part of its code point, never a match. (`isWellFormed` is ES2024, past this build's lib.) */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What a format-3 cursor carries in place of an event id longer than
 * LONGEST_ID_IN_CURSOR. A well-formed id is hashed as UTF-8, as every such
 * cursor handed out so far was. UTF-8 turns lone surrogates into U+FFFD, so
 * ids that differ only in one would share a digest (and a forward walk would
 * never get past the second): those are hashed as their UTF-16 code units,
 * which keep every id apart.
 */
export function eventIdDigest(eventId: string): string {
  if (!LONE_SURROGATE.test(eventId)) return hash('sha256', eventId, 'base64url');
  return hash('sha256', Buffer.concat([UTF16_FORM, Buffer.from(eventId, 'utf16le')]), 'base64url');
}

/**
 * Cursors made, by execution id, event id and occurrence: at most this many. An
 * event's cursor never changes, and a page polled again names the same events, so
 * most cursors are made once: a lookup costs a fraction of the sha256 it saves.
 * Only ids up to MEMO_ID_LENGTH characters are kept, which bounds the memo's heap
 * when full (README "Measured choices in the code" has both figures).
 */
const CURSOR_MEMO_ENTRIES = 16_384;
const MEMO_ID_LENGTH = 64;
const made = new LRUCache<string, string>({ max: CURSOR_MEMO_ENTRIES });

/** The cursor of the `occurrence`-th event with id `eventId` in `executionId`'s list (0 for the first). */
export function encodeEventCursor(executionId: string, eventId: string, occurrence: number): string {
  if (eventId.length > MEMO_ID_LENGTH || executionId.length > MEMO_ID_LENGTH) return makeEventCursor(executionId, eventId, occurrence);
  // Unambiguous whatever the ids hold: the execution id's length leads, and the occurrence follows the last NUL.
  const key = `${executionId.length}:${executionId}${eventId}\u0000${occurrence}`;
  let cursor = made.get(key);
  if (cursor === undefined) made.set(key, (cursor = makeEventCursor(executionId, eventId, occurrence)));
  return cursor;
}

function makeEventCursor(executionId: string, eventId: string, occurrence: number): string {
  const content =
    eventId.length > LONGEST_ID_IN_CURSOR
      ? [3, executionId, eventIdDigest(eventId), occurrence]
      : occurrence === 0
        ? [1, executionId, eventId]
        : [2, executionId, eventId, occurrence];
  const payload = Buffer.from(JSON.stringify(content)).toString('base64url');
  return `${payload}.${checksum(payload)}`;
}

/** Returns the cursor's content, or undefined when it is malformed or was altered. */
export function decodeEventCursor(cursor: string): EventCursor | undefined {
  const dot = cursor.lastIndexOf('.');
  if (dot <= 0 || cursor.length > MAX_CURSOR_LENGTH) return undefined;
  const payload = cursor.slice(0, dot);
  if (cursor.slice(dot + 1) !== checksum(payload)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded)) return undefined;
  const [version, executionId, eventId, occurrence] = decoded as unknown[];
  if (version === 0 && decoded.length === 2 && typeof executionId === 'string') return { executionId, eventId: '', occurrence: 0, start: true };
  if (typeof executionId !== 'string' || typeof eventId !== 'string') return undefined;
  if (version === 1 && decoded.length === 3) return { executionId, eventId, occurrence: 0 };
  if (version === 2 && decoded.length === 4 && Number.isSafeInteger(occurrence) && (occurrence as number) > 0) {
    return { executionId, eventId, occurrence: occurrence as number };
  }
  if (version === 3 && decoded.length === 4 && Number.isSafeInteger(occurrence) && (occurrence as number) >= 0) {
    return { executionId, eventId, occurrence: occurrence as number, digest: true };
  }
  return undefined;
}

/** One-shot `hash` (Node 20.12+): a page of 20 events makes 21 cursors, and a Hash object for each costs over twice as much (README "Measured choices in the code"). */
function checksum(payload: string): string {
  return hash('sha256', payload, 'base64url').slice(0, 10);
}
