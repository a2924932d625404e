/**
 * A loopback TCP relay in front of a real redis-server, for tests of a network
 * that black-holes a connection: `silence(text)` stops relaying, both ways, on
 * every open connection whose client sent `text` (the gateway names each of
 * its connections with CLIENT SETNAME), without closing either side. No FIN,
 * no RST: the client's socket stays open and hears nothing, as behind a
 * firewall that dropped its state. Connections made after that are relayed.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Client bytes kept per connection to match `silence` against: CLIENT SETNAME comes first, after AUTH and SELECT. */
const SNIFFED_BYTES = 4_096;

interface Relayed {
  client: Socket;
  redis: Socket;
  sent: string;
  silent: boolean;
}

export class RedisProxy {
  readonly #relayed = new Set<Relayed>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** A relay to the redis-server on `redisPort`, listening on a free loopback port. */
  static async start(redisPort: number): Promise<RedisProxy> {
    let proxy: RedisProxy | undefined;
    const server = createServer((client) => proxy?.relay(client, redisPort));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = new RedisProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  /** REDIS_URL through the relay; `userinfo` as `user:password@` when needed. */
  url(userinfo = ''): string {
    return `redis://${userinfo}127.0.0.1:${this.port}`;
  }

  /** Stops relaying on every open connection whose client sent `text`, leaving it open; how many it silenced. */
  silence(text: string): number {
    let count = 0;
    for (const relayed of this.#relayed) {
      if (relayed.silent || !relayed.sent.includes(text)) continue;
      relayed.silent = true;
      relayed.client.unpipe(relayed.redis);
      relayed.redis.unpipe(relayed.client);
      relayed.client.pause();
      relayed.redis.pause();
      count++;
    }
    return count;
  }

  /** Open connections whose client sent `text`, silenced or not. */
  connections(text: string): number {
    return [...this.#relayed].filter((relayed) => relayed.sent.includes(text) && !relayed.client.destroyed).length;
  }

  async close(): Promise<void> {
    for (const relayed of this.#relayed) {
      relayed.client.destroy();
      relayed.redis.destroy();
    }
    this.#relayed.clear();
    this.server.close();
    await once(this.server, 'close');
  }

  private relay(client: Socket, redisPort: number): void {
    const redis = connect(redisPort, '127.0.0.1');
    const relayed: Relayed = { client, redis, sent: '', silent: false };
    this.#relayed.add(relayed);
    client.on('data', (chunk: Buffer) => {
      if (relayed.sent.length < SNIFFED_BYTES) relayed.sent += chunk.toString('latin1');
    });
    client.pipe(redis);
    redis.pipe(client);
    // A silenced connection hears nothing of the other side's end either: that is the black hole.
    const end = () => {
      if (relayed.silent) return;
      client.destroy();
      redis.destroy();
      this.#relayed.delete(relayed);
    };
    client.on('close', end);
    redis.on('close', end);
    client.on('error', () => undefined);
    redis.on('error', () => undefined);
  }
}
