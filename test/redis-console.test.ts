/**
 * ioredis writes some of what it has to say with console.warn and console.error, around any listener the gateway
 * puts on its clients: a password given to a Redis that asks for none, an ACL that denies INFO (its ready check),
 * an 'error' event with no listener. Each such line broke the log's contract (one JSON object a line) on every
 * reconnect. The real process is spawned against a real redis-server in each such state: every line it writes,
 * on stdout or stderr, is JSON, and no line holds REDIS_URL's password.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { demoExecutions } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { consoleToLog, urlSecrets } from '../src/telemetry/console-lines.js';
import { captureLog } from './support/captured-log.js';
import { captureOutput, type ProcessOutput } from './support/process-output.js';
import { readiness, RedisServer } from './support/redis.js';

const PASSWORD = 'pw-of-the-redis-url-never-logged-7c1e';


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Each case starts a gateway from source (tsx): 10 to 40 s, and past that, on a loaded 2-core machine.
describe('ioredis never writes outside the JSON log', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function gateway(redisUrl: string, env: Record<string, string> = {}): Promise<{ output: ProcessOutput; url: string; stop: () => Promise<void> }> {
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    cleanups.push(() => upstream.close());
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      env: {
        PATH: process.env.PATH,
        UPSTREAM_URL: upstream.url,
        PORT: '0',
        METRICS: 'off',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'debug',
        SHUTDOWN_UNREADY_MS: '0',
        REDIS_URL: redisUrl,
        REDIS_KEY_SECRET: 'redis-console-test-secret-of-32-characters',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = captureOutput(child, { skipNonJson: true });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await output.exited;
      }
    };
    cleanups.push(stop);
    const deadline = performance.now() + 90_000;
    for (;;) {
      const line = output.lines().find((each) => each.msg === 'execution-gateway listening');
      if (line) return { output, url: line.url as string, stop };
      if (performance.now() > deadline || child.exitCode !== null) throw new Error(`the gateway did not start: ${output.stdout()}${output.stderr()}`);
      await sleep(50);
    }
  }

  async function until(what: string, check: () => Promise<boolean> | boolean, output: ProcessOutput): Promise<void> {
    const deadline = performance.now() + 15_000;
    while (!(await check())) {
      if (performance.now() > deadline) throw new Error(`${what}: ${output.stdout()}${output.stderr()}`);
      await sleep(50);
    }
  }

  /** Every line on stdout and stderr is a JSON object, none holds the password; the lines, parsed. */
  function jsonOnly(output: ProcessOutput): Record<string, unknown>[] {
    const text = output.stdout() + output.stderr();
    expect(text).not.toContain(PASSWORD);
    const lines = text.split('\n').filter((line) => line !== '');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('a password in REDIS_URL for a Redis that asks none: one JSON warning, not a console line per connection', async () => {
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    const { output, url, stop } = await gateway(`redis://:${PASSWORD}@127.0.0.1:${redis.port}`);
    await until('redis connected', async () => (await readiness(url)).redis === 'connected', output);
    // The subscriber connects on first use: a watch is not needed, the command connection says it already.
    await sleep(300);
    await stop();
    const lines = jsonOnly(output);
    expect(lines.filter((line) => String(line.text).includes('does not require a password'))).toHaveLength(1);
  });

  it('an ACL that denies INFO (ioredis skips its ready check): one JSON warning, its repeat at the reconnect counted', async () => {
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    const admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
    await admin.call('ACL', 'SETUSER', 'gateway', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '-info');
    await admin.quit();
    const { output, url, stop } = await gateway(`redis://gateway:${PASSWORD}@127.0.0.1:${redis.port}`);
    await until('redis connected', async () => (await readiness(url)).redis === 'connected', output);
    // Redis restarts with the same user: each reconnect ran the ready check again, and warned again.
    await redis.stop();
    await until('redis lost', () => output.lines().some((line) => String(line.msg).startsWith('redis unreachable')), output);
    await redis.start();
    const again = new Redis(redis.url);
    await again.call('ACL', 'SETUSER', 'gateway', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '-info');
    await again.quit();
    await until('redis back', async () => (await readiness(url)).redis === 'connected', output);
    await stop();
    const lines = jsonOnly(output);
    // The first at once; the reconnect's repeat counted, and logged as the drained process exits.
    const warned = lines.filter((line) => String(line.text).includes('INFO command fails'));
    expect(warned.map((line) => line.msg)).toEqual(['a library wrote to the console: logged here instead', 'a library wrote to the console: logged here instead (repeated)']);
    expect(warned[1]!.suppressed).toBeGreaterThan(0);
  });

  it("rediss:// with NODE_TLS_REJECT_UNAUTHORIZED=0: node's warning at the first TLS connection is one JSON line", async () => {
    // A plain Redis: the TLS handshake fails, after node warned of the setting at the connection's start.
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    const { output, stop } = await gateway(`rediss://:${PASSWORD}@127.0.0.1:${redis.port}`, { NODE_TLS_REJECT_UNAUTHORIZED: '0' });
    await until('redis unreachable', () => output.lines().some((line) => String(line.msg).startsWith('redis unreachable')), output);
    await stop();
    const lines = jsonOnly(output);
    expect(lines.filter((line) => String(line.text).includes('NODE_TLS_REJECT_UNAUTHORIZED'))).toHaveLength(1);
  });

  it('a wrong password, then Redis gone: only JSON lines, the password in none', async () => {
    const redis = await RedisServer.start({ password: 'the-right-one' });
    cleanups.push(() => redis.stop());
    const { output, stop } = await gateway(`redis://:${PASSWORD}@127.0.0.1:${redis.port}`);
    await until('redis refused', () => output.lines().some((line) => String(line.reason ?? '').includes('WRONGPASS')), output);
    await redis.stop();
    await until('another reason', () => output.lines().some((line) => String(line.reason ?? '').includes('ECONNREFUSED')), output);
    await stop();
    jsonOnly(output);
  });
});

describe('console lines as log lines (src/telemetry/console-lines.ts)', () => {
  it("ioredis's 'Unhandled error event' (a client with no listener): one warn line, no stack, no password, repeats counted", async () => {
    const log = captureLog();
    const restore = consoleToLog(log.logger, urlSecrets(`redis://:${encodeURIComponent('p@ss/' + PASSWORD)}@127.0.0.1:1`));
    try {
      // Nothing listens: ioredis prints the error's stack with console.error, at each failed attempt.
      const bare = new Redis('redis://127.0.0.1:1', { retryStrategy: () => 20, maxRetriesPerRequest: 0 });
      // At least two failed attempts (each reconnect follows one), not what 300 ms held: a loaded machine's stall can
      // leave one, and no repeat to count. A listener for 'reconnecting', not 'error': one would stop the printing.
      let reconnects = 0;
      bare.on('reconnecting', () => reconnects++);
      const deadline = performance.now() + 10_000;
      await sleep(300);
      while (reconnects < 2 && performance.now() < deadline) await sleep(20);
      bare.disconnect();
      console.warn('connecting to %s', `redis://user:${PASSWORD}@host:6379`, { password: 'p@ss/' + PASSWORD });
    } finally {
      restore();
    }
    expect(log.raw()).not.toContain(PASSWORD);
    expect(log.raw()).not.toMatch(/\n\s+at /);
    const unhandled = log.lines.filter((line) => String(line.text).startsWith('[ioredis] Unhandled error event: Error: connect ECONNREFUSED'));
    // The first at once, the rest of the attempts counted in one more line (here at restore(), as at shutdown).
    expect(unhandled).toHaveLength(2);
    expect(unhandled[0]).toMatchObject({ level: 40, component: 'console', method: 'error', msg: 'a library wrote to the console: logged here instead' });
    expect(unhandled[1]!.suppressed).toBeGreaterThan(0);
    const url = log.lines.find((line) => line.method === 'warn')!;
    expect(url.text).toContain('redis://[redacted]@host:6379');
  });

  // The first line of a text went out at once and its repeats were counted for a minute, but a process that shut
  // down within that minute took the count with it: the lines a library printed last, often the reason it was stopped.
  it.each(['SIGTERM', 'SIGINT'] as const)('a gateway drained by %s logs the repeats still counted before it exits', { timeout: 180_000 }, async (signal) => {
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/console-writer.ts', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      env: { PATH: process.env.PATH, UPSTREAM_URL: upstream.url, PORT: '0', METRICS: 'off', HOST: '127.0.0.1', SHUTDOWN_UNREADY_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = captureOutput(child);
    try {
      // Started from source by tsx: as slow as above.
      const deadline = performance.now() + 90_000;
      while (!output.stderr().includes('written') || !output.lines().some((line) => line.msg === 'execution-gateway listening')) {
        if (performance.now() > deadline || child.exitCode !== null) throw new Error(`the gateway did not start: ${output.stdout()}${output.stderr()}`);
        await sleep(50);
      }
      child.kill(signal);
      expect(await output.exited).toEqual([0, null]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await upstream.close();
    }
    const lines = output.lines().filter((line) => line.component === 'console');
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, method: 'warn', text: '[library] the same warning again', msg: 'a library wrote to the console: logged here instead' }),
      expect.objectContaining({ level: 40, method: 'warn', text: '[library] the same warning again', suppressed: 2, msg: 'a library wrote to the console: logged here instead (repeated)' }),
    ]);
    expect(lines[0]).not.toHaveProperty('suppressed');
  });

  it('puts the console back', () => {
    const before = console.warn;
    consoleToLog(captureLog().logger)();
    expect(console.warn).toBe(before);
  });
});

describe('every Redis client the gateway makes', () => {
  it('has an error listener (the commands connection and the subscriber), so ioredis never prints an unhandled one', async () => {
    const redis = await RedisServer.start();
    const store = new RedisStore(readConfig({ REDIS_URL: redis.url, REDIS_KEY_SECRET: 'redis-console-test-secret-of-32-characters' }).sharedState, captureLog().logger);
    try {
      expect(store.client.listenerCount('error')).toBeGreaterThan(0);
      expect(store.subscriber.listenerCount('error')).toBeGreaterThan(0);
    } finally {
      await store.close();
      await redis.stop();
    }
  });
});
