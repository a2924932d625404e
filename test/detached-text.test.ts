/**
 * Text kept past its request keeps nothing else alive (src/detached-text.ts):
 * an id cut from a long query's text, kept by a process-wide table, would keep
 * the whole text.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { detached } from '../src/detached-text.js';
import { UnknownStatusReporter } from '../src/domain/execution-status.js';
import { CallerPauses } from '../src/upstream/caller-pauses.js';
import { FailureJudge } from '../src/upstream/failure-judge.js';
import { Harness } from './support/harness.js';
import { heapAfterCollection, keptBytes } from './support/heap.js';
import { AUTH_A, Clients, liveEnv, putExecution, TOKENS, waitFor, watch } from './support/live.js';

describe('detached', () => {
  it('copies text exactly, lone surrogates included', () => {
    for (const text of ['ex_acme_7', 'é漢字🙂', '\ud800 lone \udc00', '', 'x'.repeat(100)]) expect(detached(text)).toBe(text);
  });

  it('keeps none of the text a slice was cut from', async () => {
    const kept: string[] = [];
    // The measure can fail: keeping the slices themselves holds 6 MB.
    expect(await keptBytes((ids) => void kept.push(...ids))).toBeGreaterThan(5_000_000);
    kept.length = 0;
    expect(await keptBytes((ids) => void kept.push(...ids.map(detached)))).toBeLessThan(1_000_000);
  });
});

describe('process-wide tables keep ids without their requests\' text', () => {
  it('the failure judge\'s pairs', async () => {
    const judge = new FailureJudge({ threshold: 5, windowMs: 60_000, minIds: 2, minCallers: 1 });
    const grown = await keptBytes(async (ids) => {
      for (const id of ids) await judge.observe('caller-key', id, Promise.resolve('answered'));
    });
    expect(grown).toBeLessThan(1_000_000);
  });

  it('the pauses of (caller, execution) pairs', async () => {
    const pauses = new CallerPauses();
    const grown = await keptBytes((ids) => {
      for (const id of ids) pauses.pause(`caller-key:${id}`, 60_000);
    });
    expect(grown).toBeLessThan(1_000_000);
    expect(pauses.size).toBe(30);
  });

  it('the statuses told of once', async () => {
    const reporter = new UnknownStatusReporter(() => {}, () => {});
    const grown = await keptBytes((ids) => {
      // A status of 200,000 characters, cut to 64 for the warning: the cut is a slice of it.
      for (const id of ids) reporter.observe(`${id}${'s'.repeat(200_000)}`);
    });
    expect(grown).toBeLessThan(1_000_000);
  });
});

/**
 * Starts a live watch over a Server-Sent Events stream of this test's own, and resolves once its first update came,
 * with the stream's close: an SSE client keeps what it sent for a while after it is closed.
 */
function watchOverOwnStream(url: string, body: { query: string; variables?: Record<string, unknown> }): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', agent: false, headers: { authorization: AUTH_A, 'content-type': 'application/json', accept: 'text/event-stream' } }, (response) => {
      response.setEncoding('utf8');
      let seen = '';
      response.on('data', (chunk: string) => {
        seen += chunk;
        if (seen.includes('event: next')) resolve(() => request.destroy());
      });
      response.on('error', () => {});
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

describe('live pollers keep ids without the text of the subscription that started them', () => {
  const clients = new Clients('sse');
  let harness: Harness | undefined;
  afterEach(async () => {
    await clients.disposeAll();
    await harness?.close();
    harness = undefined;
  });

  // Two rounds of 30 watches and four full collections: on a loaded 2-core machine past 20 s (23.9 s).
  it('a poller that outlives its first subscription keeps none of its text', { timeout: 60_000 }, async () => {
    // No cached documents, and polls seldom: what the pollers hold is what stopping them frees. Bodies of 600,000 characters taken.
    harness = await Harness.start({ env: liveEnv({ DOCUMENT_CACHE_MAX_BYTES: '0', LIVE_POLL_ACTIVE_MS: '5000', MAX_REQUEST_BODY_BYTES: '786432' }), upstream: { tokens: TOKENS } });
    const h = harness;
    const client = clients.for(h, AUTH_A);
    /** Heap freed by stopping 30 pollers, each started by a watch sent as `first` makes it, and kept by a second watch after the first ended. */
    const freedByPollers = async (round: string, first: (id: string) => { query: string; variables?: Record<string, unknown> }): Promise<number> => {
      const ids = Array.from({ length: 30 }, (_, i) => `ex_slice_${round}_${String(i).padStart(12, '0')}`);
      for (const id of ids) putExecution(h.upstream, id, 'workflow_running', { organizationId: 'org_a' });
      const closes = await Promise.all(ids.map((id) => watchOverOwnStream(h.url, first(id))));
      const seconds = ids.map((id) => watch(client, id));
      for (const each of seconds) await each.received(1);
      for (const close of closes.splice(0)) close();
      await waitFor(() => h.instance.live.counts.subscriptions === ids.length, 'the first watches released');
      expect(h.instance.live.counts.pollers).toBe(ids.length);
      const withPollers = heapAfterCollection();
      for (const each of seconds) each.stop();
      await waitFor(() => h.instance.live.counts.pollers === 0, 'every poller stopped');
      return withPollers - heapAfterCollection();
    };
    // The control sends as much text, the id in variables: the rounds differ only in where the id is written. Against a
    // control without the text, the difference had reached 2.5 MB on a loaded machine, past the 2 MB bound of then.
    const comment = ` # ${'x'.repeat(600_000)}`;
    const control = await freedByPollers('variables', (id) => ({ query: `subscription ($id: ID!) { executionUpdates(id: $id) { isFinal } }${comment}`, variables: { id } }));
    // The first watch of each execution writes its id as a literal in 600,000 characters of text: a slice of it.
    const literal = await freedByPollers('literal', (id) => ({ query: `subscription { executionUpdates(id: "${id}") { isFinal } }${comment}` }));
    // A poller keeping its first text would free 30 texts more, 18 MB.
    expect(literal - control).toBeLessThan(4_000_000);
  });
});
