/**
 * The live benchmark's changes, run inside the fake upstream's process
 * (bench/upstream-server.ts), so they happen on upstream's clock and not the
 * driver's: executions change one after another on a staggered schedule
 * (change k, of execution k mod E, at start + k × period / E), each change
 * appending one event that carries its sequence number and the time it
 * happened (./live-world.ts). The log of changes also records when upstream
 * was first asked for that execution after each change, which splits push
 * latency into "waiting for the next poll" and "poll to client".
 */
import type { FakeUpstream } from '../../src/demo/fake-upstream.js';
import { changeEvent, liveExecution, liveExecutionId, liveExecutionIndex, nowEpochMs, type LiveChangeLog, type LiveSetup, type LiveUpstreamStats } from './live-world.js';

export class LiveChanges {
  #setup: LiveSetup | undefined;
  #timer: NodeJS.Timeout | undefined;
  #startAt = 0;
  /** Changes made since start (k of the next one). */
  #made = 0;
  #seqs = new Int32Array(0);
  /** Per execution: indexes in the log of its changes not yet seen by a poll. */
  #pending: number[][] = [];
  #liveRequests = 0;
  #log = { execution: [] as number[], seq: [] as number[], changedAt: [] as number[], polledAt: [] as (number | null)[] };

  constructor(private readonly upstream: FakeUpstream) {}

  /** (Re)creates executions 0 … n-1 with their initial events and forgets every change; stops the schedule. */
  setup(setup: LiveSetup): void {
    this.stop();
    if (!(setup.executions > 0 && setup.callers > 0 && setup.changeEveryMs > 0)) throw new Error('executions, callers and changeEveryMs must be > 0');
    this.#setup = setup;
    for (let j = 0; j < setup.executions; j++) this.upstream.put(liveExecution(j, setup.callers));
    this.#seqs = new Int32Array(setup.executions);
    this.#pending = Array.from({ length: setup.executions }, () => []);
    this.#log = { execution: [], seq: [], changedAt: [], polledAt: [] };
    this.#made = 0;
    this.#liveRequests = 0;
  }

  start(): void {
    if (!this.#setup) throw new Error('POST /live/setup first');
    this.stop();
    this.#startAt = nowEpochMs();
    this.#made = 0;
    this.#tick();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Called for every request upstream receives, before it is answered. */
  requested(id: string): void {
    const j = liveExecutionIndex(id);
    if (j < 0 || j >= this.#pending.length) return;
    this.#liveRequests++;
    const pending = this.#pending[j]!;
    if (pending.length === 0) return;
    const now = nowEpochMs();
    for (const index of pending) this.#log.polledAt[index] = now;
    pending.length = 0;
  }

  changes(from: number): LiveChangeLog {
    const start = Math.max(0, Math.min(from, this.#log.seq.length));
    return {
      from: start,
      execution: this.#log.execution.slice(start),
      seq: this.#log.seq.slice(start),
      changedAt: this.#log.changedAt.slice(start),
      polledAt: this.#log.polledAt.slice(start),
    };
  }

  stats(): LiveUpstreamStats {
    return { running: this.#timer !== undefined, executions: this.#setup?.executions ?? 0, changes: this.#log.seq.length, liveRequests: this.#liveRequests };
  }

  #tick(): void {
    const setup = this.#setup!;
    const spacing = setup.changeEveryMs / setup.executions;
    const now = nowEpochMs();
    // Catch up on every change due by now (the timer fires late under load).
    while (this.#startAt + this.#made * spacing <= now) {
      this.#change(this.#made % setup.executions, setup);
      this.#made++;
    }
    const nextAt = this.#startAt + this.#made * spacing;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, nextAt - nowEpochMs()));
  }

  #change(j: number, setup: LiveSetup): void {
    const id = liveExecutionId(j);
    const stored = this.upstream.get(id);
    if (!stored) return;
    const seq = ++this.#seqs[j]!;
    const changedAt = nowEpochMs();
    const event = changeEvent(stored, seq, changedAt);
    let status = stored.execution.status;
    if (setup.statusFlipEvery > 0 && seq % setup.statusFlipEvery === 0) status = status === 'workflow_running' ? 'workflow_queued' : 'workflow_running';
    this.upstream.put({
      execution: { ...stored.execution, status, updatedAt: new Date(Math.floor(changedAt)).toISOString() },
      events: [...stored.events, event],
    });
    this.#pending[j]!.push(this.#log.seq.length);
    this.#log.execution.push(j);
    this.#log.seq.push(seq);
    this.#log.changedAt.push(changedAt);
    this.#log.polledAt.push(null);
  }
}
