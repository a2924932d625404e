/** The process as `npm start` runs it (src/main.ts): demo mode, health, both lanes, and start-up failures. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

function start(env: Record<string, string>): { child: ChildProcess; output: () => { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
    // Tests run side by side: a free metrics port each, not the default 9464. No unready period on SIGTERM: its 5 s
    // default, for load balancers no test here has, made up half this file's time (the drain is test/shutdown.test.ts's).
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', METRICS_PORT: '0', SHUTDOWN_UNREADY_MS: '0', ...env },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return { child, output: () => ({ stdout, stderr }) };
}

// 120 s, not 40: WORKERS=2 starts three processes through tsx, and on a loaded 2-core machine they had printed no
// banner after 40 s.
async function waitFor<T>(probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Each test starts real processes through tsx: slow on a busy 2-core machine.
describe('npm start', { timeout: 180_000 }, () => {
  it('serves the built-in demo data, health and a pasteable query, then shuts down on SIGTERM', async () => {
    const { child, output } = start({ PORT: '0' });
    const url = await waitFor(() => /serving the built-in demo data at (http:\S+)/.exec(output().stdout)?.[1]);
    expect(output().stdout).toContain('Authorization: Bearer demo-token');
    expect(output().stdout).toContain('query ExecutionPage');

    const health = await fetch(url.replace('/graphql', '/health'));
    expect(health.status).toBe(200);

    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer demo-token' },
      body: JSON.stringify({ query: '{ execution(id: "ex_demo_6") { id status isTerminal } }' }),
    });
    const first = { data: { execution: { id: 'ex_demo_6', status: 'WORKFLOW_SUCCEEDED', isTerminal: true } } };
    expect(await response.json()).toEqual({ ...first, extensions: { upstream: { calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: expect.any(Number) } } });
    // A finished execution is served from the cache the second time.
    const again = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer demo-token' },
      body: JSON.stringify({ query: '{ execution(id: "ex_demo_6") { id status isTerminal } }' }),
    });
    expect(await again.json()).toEqual({ ...first, extensions: { upstream: { calls: 0, cacheHits: 1, sharedCalls: 0, timeMs: 0 } } });

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it.each([['off'], ['only']])("the banner's shell examples run as printed, TRUSTED_DOCUMENTS=%s", async (mode) => {
    const { child, output } = start({ PORT: '0', TRUSTED_DOCUMENTS: mode });
    const url = await waitFor(() => /serving the built-in demo data at (http:\S+)/.exec(output().stdout)?.[1]);
    // Each example's body, as the shell would pass it (`-d '…'`): a query, then a subscription.
    const bodies = [...output().stdout.matchAll(/-d '([^']+)'/g)].map((match) => match[1]!);
    expect(bodies).toHaveLength(2);
    // With only persisted documents running, a pasted query would be refused: the examples name documents by hash.
    if (mode === 'only') expect(output().stdout).not.toContain('Paste this query');
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer demo-token' }, body: bodies[0] });
    const body = (await response.json()) as { data?: { execution: { id: string; status: string } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.execution).toMatchObject({ id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' });
    const stream = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: 'Bearer demo-token' },
      body: bodies[1],
    });
    expect(stream.status).toBe(200);
    // Its first update, whatever comment lines come before it.
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('event: next')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('"isFinal":');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('with FAST_LANE=false still serves the demo, through Yoga\'s own node adapter', async () => {
    const { child, output } = start({ PORT: '0', FAST_LANE: 'false', LOG_LEVEL: 'debug' });
    const url = await waitFor(() => /serving the built-in demo data at (http:\S+)/.exec(output().stdout)?.[1]);
    const health = await fetch(url.replace('/graphql', '/health'));
    expect(health.status).toBe(200);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer demo-token' },
      body: JSON.stringify({ query: '{ execution(id: "ex_demo_4") { id status events(first: 2) { totalCount nodes { id } } } }' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { execution: { id: string; status: string; events: { totalCount: number; nodes: unknown[] } } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data.execution).toMatchObject({ id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' });
    expect(body.data.execution.events.nodes).toHaveLength(2);
    // GraphiQL too, with the demo token filled in.
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('demo-token');
    expect(output().stderr).toBe('');
    // Yoga's own request parsing logged it: the full lane served these (the fast lane runs the parser itself).
    expect(output().stdout).toContain('Parsing request to extract GraphQL parameters');

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('runs WORKERS=2 processes on one port and stops them all on SIGTERM', async () => {
    const { child, output } = start({ PORT: '0', WORKERS: '2' });
    const url = await waitFor(() => /serving the built-in demo data at (http:\S+)/.exec(output().stdout)?.[1]);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer demo-token' },
          body: JSON.stringify({ query: '{ execution(id: "ex_demo_2") { status } }' }),
        }).then((response) => response.json() as Promise<{ data: unknown }>),
      ),
    );
    expect(answers.map((answer) => answer.data)).toEqual(Array(6).fill({ execution: { status: 'PAYMENT_CONFIRMED' } }));
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('exits 1 with one line when WORKERS=2 cannot listen, instead of a primary left without workers', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { child, output } = start({ PORT: String((taken.address() as AddressInfo).port), WORKERS: '2' });
      const [code] = await once(child, 'exit');
      expect(code).toBe(1);
      expect(output().stderr).toMatch(/^execution-gateway: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*Set PORT to a free port, and HOST to an address of this machine\.\n/);
    } finally {
      taken.close();
    }
  });

  it.each([[{}], [{ WORKERS: '2' }]])('refuses to serve the demo with NODE_ENV=production and no UPSTREAM_URL (%o): one line, exit code 1', async (env) => {
    const { child, output } = start({ PORT: '0', NODE_ENV: 'production', ...env });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output().stderr).toMatch(/^execution-gateway: UPSTREAM_URL is not set: with NODE_ENV=production .*demo data runs only when NODE_ENV is not production\.\n$/);
    expect(output().stdout).not.toContain('demo-token');
  });

  it('refuses NODE_ENV=prod (not production) with one line and exit code 1, never serving the demo', async () => {
    const { child, output } = start({ PORT: '0', NODE_ENV: 'prod' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output().stderr).toBe('execution-gateway: Invalid NODE_ENV="prod": must be production, development or test (lower case), or unset.\n');
    expect(output().stdout).not.toContain('demo-token');
  });

  it.each([
    [{ PORT: 'http' }, 'execution-gateway: Invalid PORT="http": must be a whole number from 0 to 65535.'],
    [{ UPSTREAM_URL: 'localhost:8080' }, 'execution-gateway: Invalid UPSTREAM_URL="localhost:8080": must be an http(s) URL such as http://127.0.0.1:8080.'],
    [{ FAST_LANE: 'no' }, 'execution-gateway: Invalid FAST_LANE="no": must be true or false.'],
  ])('refuses bad configuration %o with one line and exit code 1', async (env, line) => {
    const { child, output } = start(env);
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output().stderr).toBe(`${line}\n`);
  });

  // A user's trial: four mistakes took four restarts, one line each, the combinations last and one at a time.
  it('refuses every bad value and every contradiction in one start, one line each', async () => {
    const { child, output } = start({
      PORT: '0',
      LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '20000',
      UPSTREAM_MAX_CONCURRENT_PER_CALLER: '300',
      UPSTREAM_CONNECTIONS: '10',
      WS_MAX_MESSAGES_PER_SECOND: '0',
      UPSTREAM_URL: 'http://127.0.0.1:1',
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output().stderr.split('\n')).toEqual([
      'execution-gateway: Invalid WS_MAX_MESSAGES_PER_SECOND="0": must be at least 1.',
      'execution-gateway: UPSTREAM_CONNECTIONS=10 is fewer than UPSTREAM_MAX_CONCURRENT=256: calls would wait for a socket with their deadline running; unset UPSTREAM_CONNECTIONS or set it to at least 256.',
      "execution-gateway: UPSTREAM_MAX_CONCURRENT_PER_CALLER=300 is above UPSTREAM_MAX_CONCURRENT=256 (its default): a caller's share cannot be larger than the bulkhead. Lower UPSTREAM_MAX_CONCURRENT_PER_CALLER or raise UPSTREAM_MAX_CONCURRENT.",
      'execution-gateway: LIVE_MAX_SUBSCRIPTIONS_PER_CALLER=20000 is above LIVE_MAX_SUBSCRIPTIONS=10000 (its default): one caller can never hold more live subscriptions than the whole process. Lower LIVE_MAX_SUBSCRIPTIONS_PER_CALLER or raise LIVE_MAX_SUBSCRIPTIONS.',
      '',
    ]);
  });

  it('names a production start without UPSTREAM_URL beside the other refused values', async () => {
    const { child, output } = start({ PORT: 'http', NODE_ENV: 'production' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output().stderr.split('\n')).toEqual([
      'execution-gateway: Invalid PORT="http": must be a whole number from 0 to 65535.',
      expect.stringMatching(/^execution-gateway: UPSTREAM_URL is not set: with NODE_ENV=production /),
      '',
    ]);
  });
});
