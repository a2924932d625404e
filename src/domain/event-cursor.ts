/**
 * Events cursors name an event by identity (execution id + event id), not by
 * offset, so a cursor keeps pointing at the same event while upstream appends
 * more. They are opaque: base64url JSON plus a short checksum, so a truncated or
 * edited cursor is reported as such instead of silently paging from elsewhere.
 * The checksum is for integrity, not secrecy: cursors only name events the caller
 * can already read.
 */
import { hash } from 'node:crypto';

const VERSION = 1;

export interface EventCursor {
  executionId: string;
  eventId: string;
}

export function encodeEventCursor(executionId: string, eventId: string): string {
  const payload = Buffer.from(JSON.stringify([VERSION, executionId, eventId])).toString('base64url');
  return `${payload}.${checksum(payload)}`;
}

/** Returns the cursor's content, or undefined when it is malformed or was altered. */
export function decodeEventCursor(cursor: string): EventCursor | undefined {
  const dot = cursor.lastIndexOf('.');
  if (dot <= 0 || cursor.length > 8192) return undefined;
  const payload = cursor.slice(0, dot);
  if (cursor.slice(dot + 1) !== checksum(payload)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) return undefined;
  const [version, executionId, eventId] = decoded as unknown[];
  if (version !== VERSION || typeof executionId !== 'string' || typeof eventId !== 'string') return undefined;
  return { executionId, eventId };
}

/** One-shot `hash` (Node 20.12+): a page of 20 events makes 21 cursors, and a Hash object each cost ~2.4 µs against ~1 µs. */
function checksum(payload: string): string {
  return hash('sha256', payload, 'base64url').slice(0, 10);
}
