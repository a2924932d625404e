/**
 * The execution and its events as the gateway holds them: the model every
 * other layer shares. The upstream client (src/upstream/) checks only what it
 * cannot serve without (an execution object whose `id` is the one asked for)
 * and keeps everything else as upstream sent it; each field is read when a
 * query selects it (./fields.ts), so a value the gateway cannot use costs that
 * field, never the execution. The schema (src/schema/) and the events paging
 * (./event-pages.ts) read it; neither knows how it arrived.
 *
 * Field names and meanings follow the executions API (../shared/upstream/openapi.yaml),
 * whose required lists and nullability are its authors' assumptions (`x-source: assumption`).
 */
import { numberText } from './number-text.js';

export interface Execution {
  /** Upstream's id: a string, and the id that was asked for. */
  readonly id: string;
  /** The execution object as upstream sent it. */
  readonly source: Readonly<Record<string, unknown>>;
  /** Upstream's events in its order (it only appends), each entry as sent; empty when absent, null or not a list. */
  readonly events: readonly unknown[];
  /** True when upstream sent `events` that is not a list: served as no events, with a warning, and not cached (as `eventsAbsent`). */
  readonly eventsUnreadable?: boolean;
  /**
   * True when upstream sent no `events` (absent or null): served as no events, with a warning, and not
   * cached, since its contract always lists them (empty included) and a missing list may be a partial answer.
   */
  readonly eventsAbsent?: boolean;
  /** Bytes of the upstream body it was read from, decoded: the cache's size accounting starts here. */
  readonly bodyBytes: number;
  /**
   * Upstream's id of the response it was read from (its `x-request-id`, else the
   * envelope's `requestId`), when it sent one: what a ticket with upstream about
   * a value it sent names (data warnings carry it).
   */
  readonly upstreamRequestId?: string;
  /**
   * The charset upstream's Content-Type declared when the gateway does not know
   * it (its first 64 characters): the body was read as UTF-8, so its text may not
   * be what upstream meant (src/upstream/body-text.ts). Absent otherwise.
   */
  readonly unknownCharset?: string;
  /**
   * Live watches only (src/live/append-order.ts): `events` before this position
   * are in upstream's order; from it on, the watch laid events upstream inserted
   * after those it had read. Absent: every event is in upstream's order.
   */
  readonly eventsInOrder?: number;
}

/** One event of an execution: where it sits in upstream's list, and the entry as sent. */
export interface ExecutionEvent {
  /** The execution it came with, whatever its own `executionId` says. */
  readonly execution: Execution;
  /** Its index in upstream's list, from 0. */
  readonly position: number;
  /** The entry as sent; an entry that is not an object reads as one without fields. */
  readonly source: Readonly<Record<string, unknown>>;
}

const NO_FIELDS: Readonly<Record<string, unknown>> = Object.freeze({});

/** The event at `position` of the execution's list. */
export function eventAt(execution: Execution, position: number): ExecutionEvent {
  const entry = execution.events[position];
  return { execution, position, source: isObject(entry) ? entry : NO_FIELDS };
}

/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An execution's id as upstream wrote it: a string, or an integer as its text (`12345` is execution "12345", as
 * every text field reads a number) while a double holds it exactly; undefined for anything else. Past 2^53
 * JSON.parse has already rounded it to another integer (9007199254740993 reads as …992), which must not name the
 * execution asked for. Whether it is the id asked for is the caller's check.
 */
export function executionIdOf(source: Readonly<Record<string, unknown>>): string | undefined {
  const id = source.id;
  if (typeof id === 'string') return id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? numberText(id) : undefined;
}

/**
 * An event's id: upstream's when it is a non-empty string (or a number, as
 * text), else one derived from its position, `#<position>`: stable, because
 * upstream only appends.
 */
export function eventIdOf(source: Readonly<Record<string, unknown>>, position: number): string {
  const id = source.id;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return numberText(id);
  return `#${position}`;
}

/** Whether upstream gave the event a usable id, which `eventIdOf` returns; false when it derives `#<position>`. */
export function hasUpstreamEventId(source: Readonly<Record<string, unknown>>): boolean {
  const id = source.id;
  return (typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id));
}
