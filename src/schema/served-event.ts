/**
 * An event as the schema serves it: each field is a getter that reads
 * upstream's entry (src/domain/fields.ts) when a query selects it. Getters,
 * not resolvers: graphql-jit reads a field without a resolver as a plain
 * property, where a resolver costs a call, a resolve-info object and three
 * closures per field, and an execution page holds about 140 event fields
 * (docs/performance.md "Tolerant reading"). The field that lists events makes one per
 * event and tells it where the event sits, for the notes' paths.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { eventIdOf, hasUpstreamEventId, isObject, type Execution, type ExecutionEvent } from '../domain/execution.js';
import { readJson, readText, readTimestamp, UNREADABLE, type Unreadable } from '../domain/fields.js';
import { WarningCode } from '../errors.js';
import type { GatewayContext } from '../request/context.js';
import { JSON_WHAT, selectedPaths, unreadableWhy } from './served.js';
import { jsonValue } from './scalars.js';
import type { UpstreamEvent } from '../upstream/envelope.js';

/** An event's text fields, from upstream's documented shape (src/upstream/envelope.ts): its id, execution, time and data are read apart. */
export type EventTextField = Exclude<keyof UpstreamEvent, 'id' | 'executionId' | 'createdAt' | 'data'>;

/**
 * Where served events are listed: the field that lists them, and the ways down
 * from it to the event at an index (field names and the index; a connection
 * has two, `edges[i].node` and `nodes[i]`).
 */
export interface EventList {
  readonly info: GraphQLResolveInfo;
  routes(index: number): (string | number)[][];
}

export class ServedEvent {
  readonly #event: ExecutionEvent;
  readonly #context: GatewayContext;
  readonly #list: EventList;
  /** Its index in that list. */
  readonly #index: number;
  /** Fields already noted: a field selected under two aliases is read twice, and noted once per alias. */
  #noted: Set<string> | undefined;

  constructor(event: ExecutionEvent, context: GatewayContext, list: EventList, index: number) {
    this.#event = event;
    this.#context = context;
    this.#list = list;
    this.#index = index;
    const entry = event.execution.events[event.position];
    if (!isObject(entry)) this.#noteEntry(entry);
  }

  get id(): string {
    const { source, position } = this.#event;
    if (!hasUpstreamEventId(source)) this.#note('id', WarningCode.REPLACED_VALUE, `upstream sent no usable id; derived from the event's position, #${position}.`);
    return eventIdOf(source, position);
  }

  get executionId(): string {
    const { source, execution } = this.#event;
    const sent = readText(source.executionId);
    if (sent === UNREADABLE) {
      this.#note('executionId', WarningCode.REPLACED_VALUE, 'upstream sent a value that is not text; served as the execution the event came with.');
    } else if (sent !== null && sent !== execution.id) {
      this.#note('executionId', WarningCode.REPLACED_VALUE, 'upstream named another execution; served as the one the event came with.');
    }
    return execution.id;
  }

  get createdAt(): string | null {
    return this.#served('createdAt', readTimestamp(this.#event.source.createdAt), 'an instant');
  }

  get eventType(): string | null {
    return this.#text('eventType');
  }

  get level(): string | null {
    return this.#text('level');
  }

  get title(): string | null {
    return this.#text('title');
  }

  get message(): string | null {
    return this.#text('message');
  }

  get nodeId(): string | null {
    return this.#text('nodeId');
  }

  /** Within HoldingThen when an object holding a `then` (./scalars.ts `jsonValue`): a getter, as a resolver would cost a call per event. */
  get data(): unknown {
    return jsonValue(this.#served('data', readJson(this.#event.source.data), JSON_WHAT));
  }

  get organizationId(): string | null {
    return this.#text('organizationId');
  }

  get requestId(): string | null {
    return this.#text('requestId');
  }

  get runId(): string | null {
    return this.#text('runId');
  }

  get workflowId(): string | null {
    return this.#text('workflowId');
  }

  get execution(): Execution {
    return this.#event.execution;
  }

  #text(field: EventTextField): string | null {
    return this.#served(field, readText(this.#event.source[field]), 'text');
  }

  #served<T>(field: string, value: T | null | Unreadable, what: string): T | null {
    if (value !== UNREADABLE) return value;
    this.#note(field, WarningCode.UNREADABLE_VALUE, unreadableWhy(what));
    return null;
  }

  /**
   * An entry of upstream's list that is not an object (null, a number, a list):
   * served as an event without fields, noted once at each path the query
   * selects the event under (none when it selects only `cursor`).
   */
  #noteEntry(entry: unknown): void {
    const kind = entry === null ? 'null' : Array.isArray(entry) ? 'a list' : `a ${typeof entry}`;
    const message = `ExecutionEvent: upstream's entry at position ${this.#event.position} is ${kind}, not an object; served as an event without fields.`;
    const { info } = this.#list;
    for (const route of this.#list.routes(this.#index)) {
      for (const path of selectedPaths(info, route)) this.#context.scope.warn('ExecutionEvent', { path, code: WarningCode.UNREADABLE_VALUE, message }, this.#event.execution);
    }
  }

  /** One note per response key the query selects this field under (./served.ts). */
  #note(field: string, code: WarningCode, why: string): void {
    this.#noted ??= new Set();
    if (this.#noted.has(field)) return;
    this.#noted.add(field);
    const name = `ExecutionEvent.${field}`;
    const { info } = this.#list;
    for (const route of this.#list.routes(this.#index)) {
      for (const path of selectedPaths(info, [...route, field])) this.#context.scope.warn(name, { path, code, message: `${name}: ${why}` }, this.#event.execution);
    }
  }
}
