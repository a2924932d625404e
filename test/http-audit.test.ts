/**
 * The GraphQL-over-HTTP spec audit from graphql-http, run over a real socket
 * against the gateway as served, on each lane (the harness composes it as
 * production does and listens on a loopback port). The audits send no
 * Authorization header: they only use `__typename` and malformed requests,
 * which need no token and never reach upstream.
 */
import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';

/** Every audit graphql-http 1.23.1 defines; Yoga passes all of them. */
const EXPECTED_AUDITS = 61;

function describeFailure(result: AuditResult): string {
  if (result.status === 'ok') return '';
  return `[${result.status}] ${result.id} ${result.name}\n    ${result.reason}`;
}

describe.each(LANES)('GraphQL over HTTP conformance (graphql-http audits) (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it(`passes all ${EXPECTED_AUDITS} server audits`, { timeout: 60_000 }, async () => {
    // The audit plays a non-browser client of our CSRF protocol: it sends the
    // CSRF header, as such clients must on "simple" GETs (test/security.test.ts
    // proves those are refused without it).
    const audits = serverAudits({
      url: harness.url,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set('x-graphql-yoga-csrf', '1');
        return fetch(input, { ...init, headers });
      },
    });
    // One at a time: each audit is a small exchange, and serial runs give stable failures.
    const results: AuditResult[] = [];
    for (const audit of audits) results.push(await audit.fn());

    const failures = results.filter((result) => result.status !== 'ok');
    const ok = results.length - failures.length;
    expect(failures.map(describeFailure), `graphql-http audit: ${ok}/${results.length} ok; not ok:\n${failures.map(describeFailure).join('\n')}`).toEqual([]);
    expect(results).toHaveLength(EXPECTED_AUDITS);
    expect(new Set(results.map((result) => result.id)).size).toBe(EXPECTED_AUDITS);
    // Both MUST and SHOULD requirements are among them (none was silently dropped).
    expect(results.filter((result) => result.name.startsWith('MUST ')).length).toBeGreaterThan(0);
    expect(results.filter((result) => result.name.startsWith('SHOULD ')).length).toBeGreaterThan(0);
    // No audit needed the executions API.
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
