/**
 * A scripted upstream for the live12 suites: a bare HTTP listener (test/support/scripted-upstream.ts serves it) that
 * answers each poll of an id with the next answer queued for it, or its steady answer, and records every call it saw
 * (the Authorization header, when), so a test asserts what upstream was asked and with whose token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Answer = (request: IncomingMessage, response: ServerResponse) => void;

export interface Seen {
  authorization: string | undefined;
  at: number;
}

/** A scripted upstream: each poll of an id is answered by the next step queued for it, or by its `steady` answer. */
export class Script {
  readonly seen = new Map<string, Seen[]>();
  readonly #queued = new Map<string, Answer[]>();
  readonly #steady = new Map<string, Answer>();
  readonly hanging = new Set<ServerResponse>();

  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    const id = decodeURIComponent((request.url ?? '').replace(/^\/v1\/executions\//, ''));
    const list = this.seen.get(id) ?? [];
    list.push({ authorization: request.headers.authorization, at: performance.now() });
    this.seen.set(id, list);
    response.on('close', () => this.hanging.delete(response));
    const next = this.#queued.get(id)?.shift() ?? this.#steady.get(id);
    if (!next) return json(response, 404, { code: 404, message: 'execution not found' });
    next(request, response);
  };

  calls(id: string): number {
    return this.seen.get(id)?.length ?? 0;
  }

  steady(id: string, answer: Answer): void {
    this.#steady.set(id, answer);
  }

  then(id: string, ...answers: Answer[]): void {
    this.#queued.set(id, [...(this.#queued.get(id) ?? []), ...answers]);
  }
}

export function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

export function event(id: string, n: number) {
  return { id: `evt_${n}`, executionId: id, createdAt: new Date(T0 + n * 1000).toISOString(), level: 'info', eventType: 'step', message: `step ${n}` };
}

/** An answer of execution `id` in `status` with events 1..`events` (or the given list). */
export function reading(id: string, status: string, events: number | ReturnType<typeof event>[], extra: Record<string, unknown> = {}): Answer {
  const list = typeof events === 'number' ? Array.from({ length: events }, (_, i) => event(id, i + 1)) : events;
  return (_request, response) =>
    json(response, 200, {
      code: 200,
      message: 'success',
      requestId: 'req-1',
      data: { execution: { id, status, organizationId: 'org_a', updatedAt: new Date(T0 + list.length * 1000).toISOString(), ...extra }, events: list, message: 'ok' },
    });
}

export const status = (code: number, headers: Record<string, string> = {}): Answer => (_request, response) => json(response, code, { code, message: `injected ${code}` }, headers);

