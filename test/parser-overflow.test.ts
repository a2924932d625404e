/**
 * graphql-js parses nested values by recursion, and a freshly started process
 * has the least stack to spare: a list literal nested a few thousand deep,
 * under the token limit, used to overflow it and come back as a masked 500
 * with a stack in the log. The real process is started with a small stack
 * (`--stack-size`), so the overflow happens at a depth any process reaches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUTH } from './support/harness.js';
import { waitFor } from './support/live.js';

let child: ChildProcess;
let stdout = '';
let url = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['--stack-size=200', '--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
    // No UPSTREAM_URL: the demo upstream. Nothing here reaches it.
    env: { PATH: process.env.PATH, PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info' },
  });
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const listening = () => stdout.split('\n').find((line) => line.includes('"execution-gateway listening"'));
  // 90 s, not 40: tsx start-ups take 10 to 40 s on a loaded 2-core machine (as 608ecfb gave heap-budget's); only a hang waits it out.
  await waitFor(() => listening() !== undefined || child.exitCode !== null, () => `the gateway to listen; stdout ${stdout}`, 90_000);
  url = String((JSON.parse(listening()!) as { url: string }).url);
}, 120_000);

afterAll(() => {
  child.kill('SIGKILL');
});

it('answers a document nested deeper than the parser can recurse with 400 GRAPHQL_PARSE_FAILED, and logs no error', async () => {
  const loggedBefore = stdout.length;
  for (const depth of [300, 1_500]) {
    const query = `{ executions(ids: ${'['.repeat(depth)}"x"${']'.repeat(depth)}) { id } }`;
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
      body: JSON.stringify({ query }),
    });
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors.map((error) => error.extensions.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(body.errors[0]!.message).toMatch(/nested too deeply/);
  }
  const lines = stdout.slice(loggedBefore).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number });
  expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  expect(stdout.slice(loggedBefore)).not.toContain('RangeError');
});
