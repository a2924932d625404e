/**
 * The live benchmark's clients: thousands of GraphQL-over-SSE subscriptions
 * (distinct connections mode: one long-lived POST per subscription), each on
 * its own undici Client (one TCP connection), read through undici's dispatch
 * handler so no stream object sits between the socket and the parser.
 *
 * A subscriber splits the stream into SSE messages, counts updates, and finds
 * the change markers (./live-world.ts) in each `data:` line with a regular
 * expression instead of parsing the JSON, to keep the driver cheap (it shares
 * the machine's cores with the gateway). Everything it sees goes to a shared
 * LiveTally.
 */
import { Client, type Dispatcher } from 'undici';
import { CHANGE_MARKER, nowEpochMs } from './live-world.js';

/** What all subscribers saw, for one step of the benchmark. */
export class LiveTally {
  /** Subscribers that received their first update and have not ended. */
  held = 0;
  updates = 0;
  markers = 0;
  /** A marker whose seq is not the previous one + 1 for that subscriber (a change it missed). */
  gaps = 0;
  /** A marker with a seq at or below one already seen by that subscriber. */
  duplicates = 0;
  /** Streams that ended (completed, errored, closed) without the driver closing them. */
  endedUnexpectedly = 0;
  /** Errors by `code: message`. */
  errors: Record<string, number> = {};
  /** ms from sending the subscription to its first update. */
  firstUpdateMs: number[] = [];
  /** While recording: every marker received (execution index, seq, received at, ms since epoch). */
  recording = false;
  readonly received = { execution: [] as number[], seq: [] as number[], at: [] as number[] };

  error(key: string): void {
    this.errors[key] = (this.errors[key] ?? 0) + 1;
  }

  startRecording(): void {
    this.received.execution.length = 0;
    this.received.seq.length = 0;
    this.received.at.length = 0;
    this.recording = true;
  }
}

export interface SubscriberOptions {
  origin: string;
  path: string;
  authorization: string;
  /** The request body (GraphQL JSON). */
  body: string;
  /** Index of the watched execution, reported with each marker. */
  execution: number;
  tally: LiveTally;
}

type Phase = 'opening' | 'open' | 'ended';

export class SseSubscriber implements Dispatcher.DispatchHandler {
  readonly #client: Client;
  readonly #options: SubscriberOptions;
  #phase: Phase = 'opening';
  #closing = false;
  #buffer = '';
  #lastSeq = 0;
  #sentAt = 0;
  #sse = false;
  #status = 0;
  #opened: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(options: SubscriberOptions) {
    this.#options = options;
    // One connection per subscription; no timeouts while the stream is quiet (the gateway sends a comment every 12 s anyway).
    this.#client = new Client(options.origin, { pipelining: 1, headersTimeout: 30_000, bodyTimeout: 0, connectTimeout: 30_000 });
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Sends the subscription; resolves at its first update, rejects when it fails before. */
  open(): Promise<void> {
    const { promise, resolve, reject } = withResolvers();
    this.#opened = { resolve, reject };
    this.#sentAt = performance.now();
    this.#client.dispatch(
      {
        path: this.#options.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: this.#options.authorization },
        body: this.#options.body,
      },
      this,
    );
    return promise;
  }

  /** Closes the connection (the gateway sees the client leave). */
  async close(): Promise<void> {
    if (this.#phase === 'open') this.#options.tally.held--;
    this.#closing = true;
    this.#phase = 'ended';
    await this.#client.destroy().catch(() => {});
  }

  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode;
    const type = headers['content-type'];
    this.#sse = statusCode === 200 && typeof type === 'string' && type.startsWith('text/event-stream');
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#buffer += chunk.toString('utf8');
    if (!this.#sse) return;
    const receivedAt = nowEpochMs();
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const message = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      this.#message(message, receivedAt);
    }
  }

  onResponseEnd(): void {
    if (!this.#sse) {
      // Not a stream: an HTTP error or a single GraphQL result (errors before the subscription started).
      this.#fail(`HTTP ${this.#status}: ${this.#errorOf(this.#buffer)}`);
      return;
    }
    this.#ended('stream completed');
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#closing) return;
    this.#fail(`${(error as { code?: string }).code ?? error.name}: ${error.message}`);
  }

  #message(message: string, receivedAt: number): void {
    if (message.startsWith(':')) return; // keep-alive comment
    if (message.startsWith('event: complete')) return this.#ended('stream completed');
    const at = message.indexOf('data: ');
    if (!message.startsWith('event: next') || at < 0) return;
    const data = message.slice(at + 6);
    const tally = this.#options.tally;
    if (data.includes('"errors":')) {
      const error = this.#errorOf(data);
      if (this.#phase === 'opening') return this.#fail(error);
      tally.error(error);
      return;
    }
    tally.updates++;
    if (this.#phase === 'opening') {
      this.#phase = 'open';
      tally.held++;
      tally.firstUpdateMs.push(performance.now() - this.#sentAt);
      this.#opened?.resolve();
      this.#opened = undefined;
    }
    CHANGE_MARKER.lastIndex = 0;
    let match: RegExpExecArray | null;
    while ((match = CHANGE_MARKER.exec(data))) {
      const seq = Number(match[1]);
      tally.markers++;
      if (seq <= this.#lastSeq) tally.duplicates++;
      else if (this.#lastSeq > 0 && seq !== this.#lastSeq + 1) tally.gaps++;
      if (seq > this.#lastSeq) this.#lastSeq = seq;
      if (tally.recording) {
        tally.received.execution.push(this.#options.execution);
        tally.received.seq.push(seq);
        tally.received.at.push(receivedAt);
      }
    }
    if (data.includes('"isFinal":true')) this.#ended('final update');
  }

  #errorOf(text: string): string {
    try {
      const json = JSON.parse(text) as { errors?: { message?: string; extensions?: { code?: string } }[] };
      const first = json.errors?.[0];
      if (first) return `${first.extensions?.code ?? 'NO_CODE'}: ${first.message ?? ''}`.slice(0, 160);
    } catch {
      // not JSON
    }
    return text.slice(0, 160) || '(empty body)';
  }

  #fail(reason: string): void {
    if (this.#closing || this.#phase === 'ended') return;
    const { tally } = this.#options;
    if (this.#opened) {
      this.#phase = 'ended';
      tally.error(`before the first update: ${reason}`);
      this.#opened.reject(new Error(reason));
      this.#opened = undefined;
      void this.#client.destroy().catch(() => {});
      return;
    }
    tally.error(reason);
    this.#ended(reason);
  }

  #ended(reason: string): void {
    if (this.#closing || this.#phase === 'ended') return;
    const { tally } = this.#options;
    if (this.#phase === 'open') tally.held--;
    this.#phase = 'ended';
    tally.endedUnexpectedly++;
    if (this.#opened) {
      this.#opened.reject(new Error(reason));
      this.#opened = undefined;
    }
    void this.#client.destroy().catch(() => {});
  }
}

function withResolvers(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Opens `count` subscribers, at most `concurrency` waiting for their first update at a time. */
export async function openAll(make: (i: number) => SseSubscriber, count: number, concurrency: number, onProgress?: (opened: number) => void): Promise<{ subscribers: SseSubscriber[]; failed: number }> {
  const subscribers: SseSubscriber[] = new Array(count);
  let next = 0;
  let failed = 0;
  let done = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const subscriber = make(i);
      subscribers[i] = subscriber;
      try {
        await subscriber.open();
      } catch {
        failed++;
      }
      if (++done % 1000 === 0) onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { subscribers, failed };
}
