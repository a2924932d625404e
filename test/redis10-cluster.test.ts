/**
 * REDIS_URL naming a node of a Redis Cluster (a managed Redis in cluster mode, its configuration endpoint): the node
 * answers PING, GET and SET for the keys of its own slots, so `/ready` said `connected`, while every lease check was
 * refused `CROSSSLOT` (the lease, outage and pause keys of a pair hash to different slots), a key of another node's
 * slots `MOVED`, and a REDIS_URL with a database `ERR SELECT is not allowed in cluster mode`, told as a database Redis
 * does not have. Each replica polled upstream for itself, and one refusal line a minute gave Redis's reply alone.
 * Now one error line at connection says it is a cluster and what to set, and Redis is not used, as for a Sentinel.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';

const MESSAGE =
  'redis not used: REDIS_URL names a node of a Redis Cluster, whose keys the gateway cannot use (its scripts take keys of several slots); serving from local state. Set REDIS_URL to a Redis without cluster mode (a primary, with replicas behind a name or proxy that follows failovers; README "Scaling out") and restart';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A one-node Redis Cluster holding every slot, stopped with the test. */
async function clusterNode({ onTestFinished }: TestContext): Promise<number> {
  const port = await freePort();
  // The node writes its cluster configuration file: in a directory of its own.
  const directory = mkdtempSync(join(tmpdir(), 'redis10-cluster-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { cwd: directory, stdio: 'ignore' });
  onTestFinished(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  });
  await waitForAnswer(() => accepts(port), 'redis-server --cluster-enabled', 10_000);
  return port;
}

describe.concurrent('a Redis Cluster node at REDIS_URL', () => {
  for (const database of ['', '/1']) {
    it(`REDIS_URL …${database}: one error line naming the cluster and what to set, and Redis not used`, async (context) => {
      const port = await clusterNode(context);
      const log = captureLog('info');
      const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${port}${database}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
      const store = new RedisStore(settings, log.logger, 1);
      context.onTestFinished(() => store.close());
      const errors = () => log.lines.filter((line) => line.level >= 50);
      await waitFor(() => errors().length >= 1, 'the error line', 8_000);
      expect(errors()[0]).toMatchObject({ msg: MESSAGE, reason: expect.stringMatching(/Redis Cluster/) });
      expect(store.health).toBe('degraded');
      expect(store.reason).toMatch(/Redis Cluster/);
      // Past a key check (every heartbeat here) and a reconnect's time: still the one line, nothing refused.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(log.lines.filter((line) => line.level >= 40)).toHaveLength(1);
      expect(store.health).toBe('degraded');
    }, 20_000);
  }
});
