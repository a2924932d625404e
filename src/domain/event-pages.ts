/**
 * Cursor pagination over an execution's embedded events array, following the
 * GraphQL Cursor Connections spec (ApplyCursorsToEdges, EdgesToReturn,
 * HasPreviousPage, HasNextPage).
 *
 * Cost model: per events array the gateway builds, at most once, the order of
 * events (ASC/DESC) and their ranks; per (order, filter) at most one filtering
 * pass. Paging is then two binary searches plus the page itself, and only the
 * page's events are handed to GraphQL execution. Indexes are kept on the
 * (immutable) events array, so every `events` selection on the same execution
 * shares them and they disappear with the array.
 *
 * Events are read as upstream sent them (./execution.ts): an event without a
 * usable id gets `#<position>`; an event without a readable `createdAt` keeps
 * its place in upstream's order: it sorts as if it had the time of the closest
 * earlier event in upstream's list that has one (before every dated event when
 * there is none), and after that event among equal times, in both orders; time
 * filters never match it.
 */
import { hash } from 'node:crypto';
import { badUserInput, cursorEventMissing, eventsUnlisted } from '../errors.js';
import { eventAt, eventIdOf, isObject, type Execution, type ExecutionEvent } from './execution.js';
import { decodeEventCursor, encodeEventCursor, encodeStartCursor, eventIdDigest, LONGEST_ID_IN_CURSOR, type EventCursor } from './event-cursor.js';
import { instantMs, readText, UNREADABLE, type Instant } from './fields.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Distinct filters remembered per events array; the oldest is dropped beyond this. */
const MAX_REMEMBERED_FILTERS = 16;
/** A filter written longer than this is remembered by its sha256: its lists are the client's, of any length. */
const LONGEST_FILTER_KEY = 128;
/** Positions below this find their occurrence by comparing earlier ids (EventIndex.occurrenceAt). */
const SCAN_BELOW = 32;

export type EventOrder = 'ASC' | 'DESC';

export interface EventFilter {
  levels?: readonly string[] | null;
  eventTypes?: readonly string[] | null;
  nodeIds?: readonly string[] | null;
  createdAfter?: Instant | null;
  createdBefore?: Instant | null;
}

export interface EventPageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  filter?: EventFilter | null;
  order?: EventOrder | null;
}

/** An event with its cursor; `node` is the event, or what the code calling pageEvents made of it. */
export interface EventEdge<Node = ExecutionEvent> {
  cursor: string;
  node: Node;
}

export interface EventPage<Node = ExecutionEvent> {
  edges: EventEdge<Node>[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

const NO_FIELDS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Where each id occurs: the first position, and the later ones of ids upstream sent more than once. */
interface Occurrences {
  occurrence: Int32Array;
  first: Map<string, number>;
  later: Map<string, number[]>;
}

/** Upstream indices of events in one order, plus each event's rank in that order. */
interface Ordering {
  sequence: Int32Array;
  rankByIndex: Int32Array;
  filtered: Map<string, Int32Array>;
}

class EventIndex {
  readonly #events: readonly unknown[];
  /** Each event's instant in ms, NaN when it has none readable: what time filters compare. */
  readonly #times: Float64Array;
  /** The time each event sorts by: its own, or the closest earlier one's (./event-pages.ts header). */
  readonly #sortTimes: Float64Array;
  readonly #ascendingAsSent: boolean;
  #occurrences: Occurrences | undefined;
  #digests: Map<string, number[]> | undefined;
  readonly #orderings = new Map<EventOrder, Ordering>();

  constructor(events: readonly unknown[]) {
    this.#events = events;
    const n = events.length;
    this.#times = new Float64Array(n);
    this.#sortTimes = new Float64Array(n);
    let sorted = true;
    let previous = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const entry = events[i];
      const time = isObject(entry) ? instantMs(entry.createdAt) : Number.NaN;
      this.#times[i] = time;
      const sortTime = Number.isNaN(time) ? previous : time;
      this.#sortTimes[i] = sortTime;
      if (sortTime < previous) sorted = false;
      previous = sortTime;
    }
    this.#ascendingAsSent = sorted;
  }

  get length(): number {
    return this.#events.length;
  }

  /** Each event's instant in ms (NaN: none readable), for filters. */
  get times(): Float64Array {
    return this.#times;
  }

  /** The entry at a position, as an object (an entry that is not one reads as one without fields). */
  source(position: number): Readonly<Record<string, unknown>> {
    const entry = this.#events[position];
    return isObject(entry) ? entry : NO_FIELDS;
  }

  /** The event id at a position (upstream's, or `#<position>`). */
  idAt(position: number): string {
    return eventIdOf(this.source(position), position);
  }

  /** Which occurrence of its id the event at a position is (0 for the first). */
  occurrenceAt(position: number): number {
    if (this.#occurrences || position >= SCAN_BELOW) return this.#occurrenceTable().occurrence[position]!;
    // Near the start of the list, comparing with the few earlier ids is cheaper
    // than a table of every id: the first pages of a long list never build it.
    const id = this.idAt(position);
    let count = 0;
    for (let earlier = 0; earlier < position; earlier++) if (this.idAt(earlier) === id) count++;
    return count;
  }

  /** The position of the `occurrence`-th event with this id (or, with `digest`, an id of this digest), if there is one. */
  positionOf(eventId: string, occurrence: number, digest = false): number | undefined {
    if (digest) return this.#digestTable().get(eventId)?.[occurrence];
    const table = this.#occurrenceTable();
    if (occurrence === 0) return table.first.get(eventId);
    return table.later.get(eventId)?.[occurrence - 1];
  }

  /**
   * Positions of the events whose id is too long for a cursor, by the id's
   * digest (format-3 cursors), in upstream order: made on the first such
   * cursor and kept with the index, so a cursor costs one hash per long id once.
   */
  #digestTable(): Map<string, number[]> {
    if (!this.#digests) {
      const digests = new Map<string, number[]>();
      for (let position = 0; position < this.#events.length; position++) {
        const id = this.idAt(position);
        if (id.length <= LONGEST_ID_IN_CURSOR) continue;
        const key = eventIdDigest(id);
        const positions = digests.get(key);
        if (positions) positions.push(position);
        else digests.set(key, [position]);
      }
      this.#digests = digests;
    }
    return this.#digests;
  }

  /** One pass over the ids, made on first cursor use and kept with the index. */
  #occurrenceTable(): Occurrences {
    if (!this.#occurrences) {
      const n = this.#events.length;
      const occurrence = new Int32Array(n);
      const first = new Map<string, number>();
      const later = new Map<string, number[]>();
      for (let i = 0; i < n; i++) {
        const id = this.idAt(i);
        if (!first.has(id)) {
          first.set(id, i);
          continue;
        }
        let positions = later.get(id);
        if (!positions) later.set(id, (positions = []));
        positions.push(i);
        occurrence[i] = positions.length;
      }
      this.#occurrences = { occurrence, first, later };
    }
    return this.#occurrences;
  }

  ordering(order: EventOrder): Ordering {
    let ordering = this.#orderings.get(order);
    if (!ordering) {
      const sequence = order === 'ASC' ? this.#ascending() : this.#descending();
      const rankByIndex = new Int32Array(sequence.length);
      for (let rank = 0; rank < sequence.length; rank++) rankByIndex[sequence[rank]!] = rank;
      ordering = { sequence, rankByIndex, filtered: new Map() };
      this.#orderings.set(order, ordering);
    }
    return ordering;
  }

  /** The ordered upstream indices that pass the filter: one pass, remembered per filter. */
  filtered(order: EventOrder, filter: EventFilter | null | undefined): Int32Array {
    const ordering = this.ordering(order);
    const predicate = compiledFilter(filter);
    if (!predicate) return ordering.sequence;
    let result = ordering.filtered.get(predicate.key);
    if (!result) {
      const times = this.#times;
      const kept: number[] = [];
      for (const index of ordering.sequence) if (predicate.test(this.source(index), times[index]!)) kept.push(index);
      result = Int32Array.from(kept);
      if (ordering.filtered.size >= MAX_REMEMBERED_FILTERS) {
        ordering.filtered.delete(ordering.filtered.keys().next().value as string);
      }
      ordering.filtered.set(predicate.key, result);
    }
    return result;
  }

  #ascending(): Int32Array {
    const indices = identity(this.#events.length);
    if (this.#ascendingAsSent) return indices;
    const times = this.#sortTimes;
    // Array.prototype.sort is stable, so ties keep upstream order.
    return Int32Array.from(Array.from(indices).sort((a, b) => times[a]! - times[b]!));
  }

  #descending(): Int32Array {
    const times = this.#sortTimes;
    const n = this.#events.length;
    if (!this.#ascendingAsSent) {
      return Int32Array.from(Array.from(identity(n)).sort((a, b) => times[b]! - times[a]!));
    }
    // Already ascending: walk groups of equal timestamps from the end, each group
    // kept in upstream order. O(n) instead of a sort.
    const result = new Int32Array(n);
    let out = 0;
    let end = n;
    while (end > 0) {
      let start = end - 1;
      while (start > 0 && times[start - 1] === times[end - 1]) start--;
      for (let i = start; i < end; i++) result[out++] = i;
      end = start;
    }
    return result;
  }
}

function identity(n: number): Int32Array {
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  return indices;
}

interface CompiledFilter {
  key: string;
  /** `time`: the event's `createdAt` in ms since the epoch, NaN when unreadable. */
  test(source: Readonly<Record<string, unknown>>, time: number): boolean;
}

/** A field as text for matching a filter; unreadable values match nothing. */
function textOf(value: unknown): string | null {
  const text = readText(value);
  return text === UNREADABLE ? null : text;
}

/** A level as `levels` filters compare it: in lower case, so `WARN` and `warn` are one level. */
function foldedLevel(level: string): string {
  return level.toLowerCase();
}

/** Whether `level` (an event's, null when unreadable) is one of `levels` (folded): upstream's lower case is one lookup. */
function hasLevel(levels: ReadonlySet<string>, level: string | null): boolean {
  return level !== null && (levels.has(level) || levels.has(foldedLevel(level)));
}

/**
 * Each filter object compiled once, whatever the number of pages it filters: the schema hands every page of one
 * `events` field in a request the same object (src/request/scope.ts `sameFilter`), and a subscription's is one for
 * all its updates. Compiled per page, 30 aliases of `executions(ids)` over 100 ids with a 5,500-value filter built,
 * sorted and hashed it 3,000 times: 4 s of one request.
 */
const compiledFilters = new WeakMap<EventFilter, CompiledFilter | null>();
let compiles = 0;

/** Filters compiled in this process so far (tests: how often a request's pages compiled theirs). */
export function filtersCompiled(): number {
  return compiles;
}

function compiledFilter(filter: EventFilter | null | undefined): CompiledFilter | undefined {
  if (!filter) return undefined;
  let compiled = compiledFilters.get(filter);
  if (compiled === undefined) {
    compiles++;
    compiledFilters.set(filter, (compiled = compileFilter(filter) ?? null));
  }
  return compiled ?? undefined;
}

/**
 * Lists are "any of", fields combine with "and", an empty list matches nothing. Levels match in any case: upstream
 * writes them in lower case (`warn`), and a frontend filtering on `WARN` got an empty page with no note.
 */
function compileFilter(filter: EventFilter): CompiledFilter | undefined {
  const levels = filter.levels ? new Set(filter.levels.map(foldedLevel)) : undefined;
  const eventTypes = filter.eventTypes ? new Set(filter.eventTypes) : undefined;
  const nodeIds = filter.nodeIds ? new Set(filter.nodeIds) : undefined;
  // Times are read to the millisecond: an instant inside one is after every event of that millisecond.
  const after = filter.createdAfter ? filter.createdAfter.ms : undefined;
  const before = filter.createdBefore ? filter.createdBefore.ms + (filter.createdBefore.insideMs ? 1 : 0) : undefined;
  if (!levels && !eventTypes && !nodeIds && after === undefined && before === undefined) return undefined;
  const sortedList = (set: Set<string> | undefined) => (set ? [...set].sort() : null);
  const written = JSON.stringify([sortedList(levels), sortedList(eventTypes), sortedList(nodeIds), after ?? null, before ?? null]);
  return {
    // A digest never starts with `[`, so it names no written filter. Remembered filters ride on a cached execution
    // for its whole life, uncounted by the cache's size, so what each keeps must not grow with what a request sends.
    key: written.length > LONGEST_FILTER_KEY ? hash('sha256', written, 'base64url') : written,
    test(source, time) {
      if (levels && !hasLevel(levels, textOf(source.level))) return false;
      if (eventTypes && !eventTypes.has(textOf(source.eventType) as string)) return false;
      if (nodeIds && !nodeIds.has(textOf(source.nodeId) as string)) return false;
      // NaN (no readable createdAt) compares false either way: time filters never match it.
      if (after !== undefined && !(time > after)) return false;
      if (before !== undefined && !(time < before)) return false;
      return true;
    },
  };
}

/**
 * The index rides on the events array itself, under a symbol, so it lives and
 * dies with the array. A global WeakMap keyed on the arrays did the same, but
 * under load its entries' arrays, records and indexes outlived young-generation
 * collections until a full GC (docs/performance.md "What paid in earlier rounds", item 3).
 */
const INDEX = Symbol('eventIndex');

function indexFor(events: readonly unknown[]): EventIndex {
  const carrier = events as readonly unknown[] & { [INDEX]?: EventIndex };
  let index = carrier[INDEX];
  if (!index) {
    index = new EventIndex(events);
    // A frozen array (none comes from upstream) just goes without the shared index.
    if (Object.isExtensible(carrier)) carrier[INDEX] = index;
  }
  return index;
}

function checkPageSize(name: 'first' | 'last', value: number | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (value < 0 || value > MAX_PAGE_SIZE) {
    // Above the bound, the way to more events: a caller asking for 1,000 wants them all, not a smaller number.
    const more =
      value > MAX_PAGE_SIZE
        ? name === 'first'
          ? ` For more events, page on with \`after: pageInfo.endCursor\` while \`pageInfo.hasNextPage\`.`
          : ` For more events, page on with \`before: pageInfo.startCursor\` while \`pageInfo.hasPreviousPage\`.`
        : '';
    throw badUserInput(`Argument \`${name}\` must be between 0 and ${MAX_PAGE_SIZE}, got ${value}.${more}`);
  }
  return value;
}

/** A page's sizes and cursors once checked against the execution they are used on. */
export interface CheckedPageArgs {
  first: number | undefined;
  last: number | undefined;
  after: EventCursor | undefined;
  before: EventCursor | undefined;
}

/**
 * Every check of a page's arguments that needs no events: sizes within
 * 0–MAX_PAGE_SIZE, cursors that are this connection's and this execution's.
 * BAD_USER_INPUT otherwise. Needs only the execution's id, so a page it
 * refuses can be refused before any upstream call (src/schema/refused-pages.ts).
 */
export function checkPageArgs(args: EventPageArgs, executionId: string): CheckedPageArgs {
  return {
    first: checkPageSize('first', args.first),
    last: checkPageSize('last', args.last),
    after: args.after != null ? checkEventCursor('after', args.after, executionId) : undefined,
    before: args.before != null ? checkEventCursor('before', args.before, executionId) : undefined,
  };
}

/**
 * What a cursor names, once checked against the execution it is used on;
 * BAD_USER_INPUT when it is not a cursor (altered, truncated) or belongs to
 * another execution. Needs no events, so it can run before any upstream call.
 */
export function checkEventCursor(name: string, cursor: string, executionId: string): EventCursor {
  const decoded = decodeEventCursor(cursor);
  if (!decoded) {
    // A watch's argument names the watch's own cursors too: it has no edges or pageInfo of its own.
    const where =
      name === 'eventsAfter'
        ? "Pass, unchanged, the `cursor` of an update or of one of its `newEvents`, or a cursor of this execution's `events` (edges.cursor, pageInfo.startCursor or pageInfo.endCursor)."
        : 'Pass a cursor returned by this field (edges.cursor, pageInfo.startCursor or pageInfo.endCursor), unchanged.';
    // A client's "no cursor yet" state sent as `""` (a form field, a URL parameter, a `useState('')`): say what stands for none.
    const none =
      cursor.trim() === ''
        ? ` An empty string is no cursor: to ${name === 'eventsAfter' ? 'watch from now on' : 'page without one'}, leave \`${name}\` out or pass null.`
        : '';
    throw badUserInput(`Argument \`${name}\` is not a valid events cursor. ${where}${none}`);
  }
  if (decoded.executionId !== executionId) {
    throw badUserInput(
      `Argument \`${name}\` is a cursor of execution "${decoded.executionId}", not "${executionId}". Cursors only work on the execution they came from.`,
    );
  }
  return decoded;
}

/**
 * Upstream position of the event a checked cursor names; when the execution's list lacks it, UPSTREAM_BAD_RESPONSE
 * (ask again) for a query's `page` (that reading: cursorEventMissing), BAD_USER_INPUT without one (a live watch,
 * which read again before), or UPSTREAM_BAD_RESPONSE when upstream sent no readable list to look in (`unlisted`).
 */
function positionNamed(name: string, decoded: EventCursor, executionId: string, index: EventIndex, unlisted?: Execution, page?: Execution): number {
  const position = index.positionOf(decoded.eventId, decoded.occurrence, decoded.digest);
  // The cursor is the client's own and still good: "start again without a cursor" lost its place over upstream's answer.
  if (position === undefined && unlisted) throw eventsUnlisted(name, unlisted.upstreamRequestId);
  if (position === undefined) {
    const which = decoded.occurrence === 0 ? '' : ` (occurrence ${decoded.occurrence + 1} of that id)`;
    const event = decoded.digest ? `the event whose id has sha256 ${decoded.eventId}` : `event "${decoded.eventId}"`;
    // A query's page has this one reading; a live watch reads again before it gives up (src/live/), so its refusal stays the client's.
    if (page) throw cursorEventMissing(name, `${event}${which}`, executionId, page.upstreamRequestId);
    throw badUserInput(
      `Argument \`${name}\` points at ${event}${which}, which execution "${executionId}" no longer has. Start again without a cursor.`,
    );
  }
  return position;
}

/**
 * Rank (in `order`) of the event a checked cursor names, -1 for the start of
 * the list (every event is after it, none before); UPSTREAM_BAD_RESPONSE
 * (ask again) when the `page`'s reading lacks it or upstream sent no readable
 * list to look in (`unlisted`, as `positionNamed`).
 */
function cursorRank(name: 'after' | 'before', decoded: EventCursor, executionId: string, index: EventIndex, ordering: Ordering, unlisted: Execution | undefined, page: Execution): number {
  return decoded.start ? -1 : ordering.rankByIndex[positionNamed(name, decoded, executionId, index, unlisted, page)]!;
}

/** The position just after the event a checked cursor names, in upstream's (append) order; 0 after the start of the list. */
export function positionAfter(execution: Execution, name: string, cursor: EventCursor): number {
  return cursor.start ? 0 : positionNamed(name, cursor, execution.id, indexFor(execution.events)) + 1;
}

/** The cursor of the event at an upstream position. */
function cursorAt(execution: Execution, position: number): string {
  const index = indexFor(execution.events);
  return encodeEventCursor(execution.id, index.idAt(position), index.occurrenceAt(position));
}

/** The cursor of what comes before an upstream position: the event there, or for 0 the start of the list. */
export function cursorBefore(execution: Execution, position: number): string {
  return position > 0 ? cursorAt(execution, position - 1) : encodeStartCursor(execution.id);
}

/**
 * Events upstream appended at or after `from`, in append order, that match the
 * filter: at most `max` of them, with the position to continue from. What a
 * live update calls new (src/live/), whatever the events' timestamps.
 */
export function appendedEvents(execution: Execution, from: number, filter: EventFilter | null | undefined, max: number): { edges: EventEdge[]; next: number } {
  const index = indexFor(execution.events);
  const predicate = compiledFilter(filter);
  const edges: EventEdge[] = [];
  let position = from;
  for (; position < index.length && edges.length < max; position++) {
    if (predicate && !predicate.test(index.source(position), index.times[position]!)) continue;
    edges.push({ cursor: encodeEventCursor(execution.id, index.idAt(position), index.occurrenceAt(position)), node: eventAt(execution, position) });
  }
  return { edges, next: position };
}

/** First position in `list` whose rank is greater than `rank` (list ranks ascend). */
function firstAfter(list: Int32Array, rankByIndex: Int32Array, rank: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (rankByIndex[list[mid]!]! > rank) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * One page of an execution's events; throws BAD_USER_INPUT for bad sizes and
 * cursors. `node` makes each edge's node from the event and its index in the
 * page (the schema serves events through a view: src/schema/served-event.ts).
 */
export function pageEvents(execution: Execution, args: EventPageArgs): EventPage;
export function pageEvents<Node>(execution: Execution, args: EventPageArgs, node: (event: ExecutionEvent, index: number) => Node): EventPage<Node>;
export function pageEvents<Node>(execution: Execution, args: EventPageArgs, node?: (event: ExecutionEvent, index: number) => Node): EventPage<Node | ExecutionEvent> {
  const executionId = execution.id;
  const checked = checkPageArgs(args, executionId);
  let { first, last } = checked;
  if (first === undefined && last === undefined) {
    // `before` alone pages backward: the page just before the cursor.
    if (checked.before && !checked.after) last = DEFAULT_PAGE_SIZE;
    else first = DEFAULT_PAGE_SIZE;
  }
  const order = args.order ?? 'ASC';

  const index = indexFor(execution.events);
  const ordering = index.ordering(order);
  const unlisted = execution.eventsUnreadable === true || execution.eventsAbsent === true ? execution : undefined;
  const afterRank = checked.after ? cursorRank('after', checked.after, executionId, index, ordering, unlisted, execution) : undefined;
  const beforeRank = checked.before ? cursorRank('before', checked.before, executionId, index, ordering, unlisted, execution) : undefined;
  const list = index.filtered(order, args.filter);
  const ranks = ordering.rankByIndex;

  // ApplyCursorsToEdges: a cursor marks a position among all events, so it keeps
  // working when the filter changes between pages.
  const afterStart = afterRank === undefined ? 0 : firstAfter(list, ranks, afterRank);
  const beforeEnd = beforeRank === undefined ? list.length : firstAfter(list, ranks, beforeRank - 1);
  let start = afterStart;
  let end = Math.max(beforeEnd, afterStart);
  const cursorCount = end - start;

  // EdgesToReturn
  if (first !== undefined && end - start > first) end = start + first;
  if (last !== undefined && end - start > last) start = end - last;

  const edges: EventEdge<Node | ExecutionEvent>[] = [];
  for (let i = start; i < end; i++) {
    const position = list[i]!;
    const event = eventAt(execution, position);
    edges.push({ cursor: encodeEventCursor(executionId, index.idAt(position), index.occurrenceAt(position)), node: node ? node(event, i - start) : event });
  }

  const hasPreviousPage = last !== undefined ? cursorCount > last : afterRank !== undefined && afterStart > 0;
  const hasNextPage = first !== undefined ? cursorCount > first : beforeRank !== undefined && beforeEnd < list.length;
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: list.length,
  };
}
