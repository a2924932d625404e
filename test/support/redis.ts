/**
 * A real `redis-server` for tests (Debian's; `.ci/run` installs it when
 * missing): on a free loopback port, persistence off, stopped by the test.
 * `stop()` then `start()` restarts it on the same port, empty, as a Redis
 * restart without persistence would be.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { freePort } from '../../bench/lib/ports.js';

export class RedisServer {
  #child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly password: string | undefined,
    readonly settings: readonly string[] = [],
  ) {}

  /**
   * `password`: clients must AUTH with it (`requirepass`), as a production Redis asks; `port`: a free one by default;
   * `settings`: more of redis-server's command-line settings (`['--rename-command', 'PING', '']`).
   */
  static async start({ password, port, settings }: { password?: string; port?: number; settings?: readonly string[] } = {}): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()), password, settings);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts (again) on the same port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.#child) return;
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning', ...(this.password === undefined ? [] : ['--requirepass', this.password]), ...this.settings], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      if (await this.#accepts()) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Stops it (SIGKILL: no goodbye to the clients, as a crash); resolves once it exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Freezes it (SIGSTOP): its connections stay open and nothing is answered, as a hung host. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a frozen server go on (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  #accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }
}

/** A gateway's `/ready` body (its `redis` field: `connected` or why not), on a new connection, so that the next worker answers. */
export function readiness(url: string): Promise<{ redis?: string; redisReason?: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(new URL('/ready', url), { agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve(JSON.parse(text) as { redis?: string; redisReason?: string }));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * A TCP server on a loopback port standing where Redis would be (a silent port, a Redis refusing every client, an
 * HTTP service): `onConnection` gets each socket, whose errors are ignored; the sockets and the server are closed as
 * the test ends (`onTestFinished`). Resolves with its port.
 */
export async function redisImpostor(onConnection: (socket: Socket) => void, onTestFinished: (cleanup: () => void) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}
