/**
 * Reading upstream's envelope `{ code, data: { execution, events, message },
 * message, requestId }` as a tolerant reader. Whatever the documentation
 * (../shared/upstream/openapi.yaml) marks as required, only what the gateway
 * cannot serve without is checked here: a JSON object with a `data.execution`
 * object whose `id` is the id asked for, as text or as a number written so
 * (never serve one execution's data under another's id). Everything else is
 * kept as sent and read field by field when a query selects it
 * (src/domain/fields.ts).
 *
 * The wire types below document what a well-behaved upstream sends; the demo
 * upstream and the tests speak them, and the schema's field lists are typed by
 * their keys (src/schema/execution.ts, served-event.ts).
 */
import type { Execution } from '../domain/execution.js';
import { executionIdOf, isObject } from '../domain/execution.js';
import { numberText } from '../domain/number-text.js';
import { textPrefix } from '../text-prefix.js';

/** An execution as the API documents it. */
export interface UpstreamExecution {
  id: string;
  status: string;
  statusReason?: string | null;
  paymentStatus: string;
  checkoutSessionId?: string | null;
  orderId?: string | null;
  externalRef?: string | null;
  idempotencyKey: string;
  initiatedById: string;
  initiatedByType: string;
  organizationId: string;
  runId: string;
  workflowId: string;
  sourceEntityId: string;
  sourceEntityType: string;
  sourceSystem: string;
  clientSafeMetadata?: Record<string, unknown> | null;
  requestPayload?: Record<string, unknown> | null;
  responsePayload?: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}

/** An event as the API documents it. */
export interface UpstreamEvent {
  id: string;
  executionId: string;
  createdAt: string;
  eventType: string;
  level: string;
  title?: string | null;
  message?: string | null;
  nodeId?: string | null;
  data?: Record<string, unknown> | null;
  organizationId: string;
  requestId: string;
  runId: string;
  workflowId: string;
}

/** What an envelope says when it is not an execution: an error status (on any HTTP status) and upstream's request id. */
export interface EnvelopeHead {
  /** An HTTP error status, 400 to 599, that the envelope's `code` names. */
  errorStatus?: number;
  requestId?: string;
}

/** Digits of an HTTP status written as text: `"404"`. */
const STATUS_TEXT = /^\d{3}$/;

/**
 * The envelope's `code` as an HTTP error status, when it names one: an integer
 * from 400 to 599, or such a status as text (`"404"`, as a number read as text
 * elsewhere). Any other code (200, 0, an application's own `40401` or `10001`)
 * says nothing the gateway can map: read as an HTTP status of 500 and up, such a
 * code lost the execution its body held to UPSTREAM_UNAVAILABLE "(HTTP 40401)",
 * counted against upstream's circuit, and `"404"` was a body it "cannot read".
 */
function errorStatusOf(code: unknown): number | undefined {
  const status = typeof code === 'string' && STATUS_TEXT.test(code) ? Number(code) : code;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : undefined;
}

/** The envelope's error status and `requestId`, where they are readable. */
export function readEnvelopeHead(json: unknown): EnvelopeHead {
  if (!isObject(json)) return {};
  const head: EnvelopeHead = {};
  const errorStatus = errorStatusOf(json.code);
  if (errorStatus !== undefined) head.errorStatus = errorStatus;
  const requestId = upstreamRequestIdOf(json.requestId);
  if (requestId !== undefined) head.requestId = requestId;
  return head;
}

/** Characters of upstream's request id the gateway keeps: a UUID is 36, a W3C traceparent 55. */
const MAX_UPSTREAM_REQUEST_ID_LENGTH = 256;

/**
 * Upstream's name for a response (its `x-request-id` header or the envelope's
 * `requestId`) as the gateway serves it: a non-empty string, cut to its first
 * MAX_UPSTREAM_REQUEST_ID_LENGTH characters (never between the two halves of a
 * surrogate pair), or an integer as its text, as text fields read one (a
 * numeric `requestId` was dropped, and notes and errors named no response), when
 * a double holds it exactly;
 * undefined for anything else. Bounded because it is repeated
 * in every note of a result (up to 100), on every error, and in log lines: a
 * 6 MB body whose `requestId` was nearly all of it made a response of 600 MB,
 * past the longest string V8 makes, and the client got a 500 for the whole request.
 */
export function upstreamRequestIdOf(value: unknown): string | undefined {
  // Past 2^53 JSON.parse has already rounded the id to another (12345678901234567890 reads as …7000): none is better.
  if (typeof value === 'number') return Number.isSafeInteger(value) ? numberText(value) : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  return textPrefix(value, MAX_UPSTREAM_REQUEST_ID_LENGTH);
}

/** Why a 200 body cannot be served as the execution asked for. */
export type Unusable = { unusable: string };

/**
 * The execution in a 200 body, or why there is none to serve. `events` absent
 * or null reads as no events, marked so it is not cached; anything else that is
 * not a list too, marked so the schema can say so. `upstreamRequestId` is the response's id (its
 * `x-request-id` header, else the envelope's `requestId`), kept with the execution.
 */
export function readExecution(json: unknown, requestedId: string, bodyBytes: number, upstreamRequestId?: string): Execution | Unusable {
  if (!isObject(json)) return { unusable: 'body is not a JSON object' };
  const data = json.data;
  if (!isObject(data)) return { unusable: 'no `data` object' };
  const source = data.execution;
  if (!isObject(source)) return { unusable: 'no `data.execution` object' };
  const id = executionIdOf(source);
  if (id === undefined) return { unusable: '`data.execution.id` is neither text nor an integer a double holds exactly' };
  if (id !== requestedId) return { unusable: 'the body describes another execution than the one asked for' };
  const events = data.events;
  // Literals, not a spread with a key added: every resolver reads these objects (docs/performance.md "What each plugin costs").
  if (Array.isArray(events)) return upstreamRequestId === undefined ? { id, source, events, bodyBytes } : { id, source, events, bodyBytes, upstreamRequestId };
  if (events === undefined || events === null) {
    return upstreamRequestId === undefined ? { id, source, events: [], eventsAbsent: true, bodyBytes } : { id, source, events: [], eventsAbsent: true, bodyBytes, upstreamRequestId };
  }
  return upstreamRequestId === undefined
    ? { id, source, events: [], eventsUnreadable: true, bodyBytes }
    : { id, source, events: [], eventsUnreadable: true, bodyBytes, upstreamRequestId };
}
