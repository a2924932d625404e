/**
 * A real `redis-server` for the benchmarks (bench:live with
 * LIVE_BENCH_REPLICAS=2): Debian's binary on a free loopback port, persistence
 * off (`--save '' --appendonly no`, its working directory a temporary one),
 * started as a child of the driver and stopped with it:
 *   - `stop()` at the end (SIGTERM, then SIGKILL after 3 s);
 *   - SIGKILL from a process 'exit' hook, whatever ends the driver (an error
 *     thrown, the run's deadline, process.exit);
 *   - once one is started, SIGINT, SIGTERM and SIGHUP end the driver through
 *     process.exit, so that hook (and bench/lib/processes.ts's, which kills the
 *     gateways and the fake upstream) runs. Only a SIGKILL of the driver leaves
 *     it behind, as it does every other child.
 *
 * It also reads what Redis says of itself for the report: INFO sections,
 * calls per command (INFO commandstats), keys matching a pattern, used_memory
 * sampled while a step runs, and its CPU from /proc (its own pid: no wrapper).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { cpuTicks, rssKb } from './procfs.js';

const running = new Set<ChildProcess>();
const directories = new Set<string>();

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

let signalsHandled = false;
/** Ends the driver through process.exit on these signals, so the 'exit' hooks stop every child (installed on the first start only). */
function exitOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  for (const [signal, code] of Object.entries(codes)) process.on(signal, () => process.exit(code));
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `field:value` lines of an INFO reply. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

export class BenchRedis {
  /** For the driver's own reads (INFO, SCAN); never used by the gateways. */
  readonly client: Redis;
  #output = '';
  #stopped = false;

  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
    private readonly directory: string,
  ) {
    this.client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, connectionName: 'bench-live-driver' });
    // Without a listener an 'error' (Redis stopping under it) would end the driver.
    this.client.on('error', () => undefined);
    child.stdout!.on('data', (chunk: Buffer) => this.#keep(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.#keep(chunk));
  }

  /** Starts one on a free loopback port; resolves once it answers PING. */
  static async start(): Promise<BenchRedis> {
    exitOnSignals();
    const port = await freePort();
    const directory = mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
    directories.add(directory);
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--save', '', '--appendonly', 'no', '--dir', directory, '--loglevel', 'warning'],
      // Not detached: a Ctrl-C in the terminal reaches it with the rest of the process group.
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    const redis = new BenchRedis(port, child, directory);
    const failed = (why: string) => new Error(`redis-server ${why}: ${redis.output.trim().slice(-600) || '(no output)'}`);
    const spawnError = once(child, 'error').then(([error]) => error as Error);
    const deadline = Date.now() + 10_000;
    try {
      for (;;) {
        const error = await Promise.race([spawnError, new Promise<undefined>((resolve) => setTimeout(resolve, 25))]);
        if (error) throw new Error(`cannot run redis-server (${error.message}): install it, e.g. apt-get install redis-server`);
        if (child.exitCode !== null || child.signalCode !== null) throw failed(`exited (${child.exitCode ?? child.signalCode})`);
        if (await accepts(port)) break;
        if (Date.now() > deadline) throw failed('did not accept connections within 10 s');
      }
      await redis.client.connect();
      await redis.client.ping();
    } catch (error) {
      await redis.stop();
      throw error;
    }
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** What it printed (the last 4,000 characters). */
  get output(): string {
    return this.#output;
  }

  /** User + system CPU time of the redis-server process, in clock ticks. */
  cpuTicks(): number {
    return cpuTicks(this.pid);
  }

  rssKb(): number {
    return rssKb(this.pid);
  }

  async info(section: string): Promise<Record<string, string>> {
    return parseInfo(await this.client.info(section));
  }

  /** Calls per command since start (INFO commandstats), e.g. { eval: 1234, publish: 567 }. */
  async commandCalls(): Promise<Record<string, number>> {
    const calls: Record<string, number> = {};
    for (const [field, value] of Object.entries(await this.info('commandstats'))) {
      const match = /(?:^|,)calls=(\d+)/.exec(value);
      if (field.startsWith('cmdstat_') && match) calls[field.slice('cmdstat_'.length)] = Number(match[1]);
    }
    return calls;
  }

  /** Keys matching `pattern` (SCAN: never blocks Redis the way KEYS would). */
  async countKeys(pattern: string): Promise<number> {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  }

  /** Polls used_memory every `intervalMs` until stopped; returns the highest seen, in bytes. */
  sampleUsedMemory(intervalMs = 1000): { stop(): Promise<number> } {
    let peak = 0;
    const read = async () => {
      try {
        peak = Math.max(peak, Number((await this.info('memory')).used_memory ?? 0));
      } catch {
        // not answering this once: the next read counts
      }
    };
    void read();
    const timer = setInterval(() => void read(), intervalMs);
    return {
      stop: async () => {
        clearInterval(timer);
        await read();
        return peak;
      },
    };
  }

  /** Disconnects the driver's client and stops redis-server (SIGTERM, SIGKILL after 3 s); resolves once it exited. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.client.disconnect();
    const { child } = this;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    rmSync(this.directory, { recursive: true, force: true });
    directories.delete(this.directory);
  }

  #keep(chunk: Buffer): void {
    this.#output = (this.#output + chunk.toString('utf8')).slice(-4000);
  }
}
