/**
 * The fake upstream in its own process for benchmarks, so that the gateway and
 * the load driver never share its event loop. Usage:
 *   tsx bench/upstream-server.ts '<json: { executions: ExecutionSpec[], latencyMs? }>'
 * Prints one line `{"url": "...", "control": "..."}` when listening.
 *
 * `control` is a second loopback HTTP port for the benchmark driver (never for
 * the gateway):
 *   GET  /stats                     {requests, inFlight, maxInFlight, latencyMs}; `requests` is
 *                                   a monotonic count of every request the fake upstream received
 *   POST /latency?ms=N              sets the latency added to every answer
 *   POST /reset-max                 restarts maxInFlight from the current inFlight
 *   POST /tag?prefix=P              from now on, counts requests per `x-request-id` starting with P
 *                                   (forgets earlier per-id counts; empty prefix stops counting)
 *   GET  /tagged                    {prefix, counts: {requestId: calls}} for the current prefix
 *   POST /faults                    body {"<execution id>": Fault | null, ...}: injects (or, with null,
 *                                   removes) a fault for every request to that id
 *                                   (src/demo/fake-upstream.ts: status, body, hang, reset, flaky, slow)
 *   GET  /calls                     {"<execution id>": requests} since start, monotonic
 *
 * With `"live": true` in the spec, also the live benchmark's callers and these
 * (bench/lib/live-upstream.ts, bench/lib/live-world.ts):
 *   POST /live/setup                body LiveSetup: (re)creates executions ex_live_0 … and forgets changes
 *   POST /live/start                starts the staggered changes; POST /live/stop stops them
 *   GET  /live/changes?from=K       the change log from entry K (when each change happened and was first polled)
 *   GET  /live/stats                {running, executions, changes, liveRequests}
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_ORGANIZATION, DEMO_TOKEN, makeExecution } from '../src/demo/demo-data.js';
import { FakeUpstream, type Fault, type RecordedRequest } from '../src/demo/fake-upstream.js';
import { LiveChanges } from './lib/live-upstream.js';
import { liveTokens, type LiveSetup } from './lib/live-world.js';
import { manyCallerData, manyCallerTokens, type UpstreamSpec } from './lib/scenarios.js';

const spec = JSON.parse(process.argv[2] ?? '{"executions":[]}') as UpstreamSpec & { live?: boolean };
const upstream = await FakeUpstream.start({
  executions: [...spec.executions.map((execution) => makeExecution(execution)), ...(spec.manyCallers ? manyCallerData() : [])],
  tokens: { [DEMO_TOKEN]: DEMO_ORGANIZATION, ...(spec.manyCallers ? manyCallerTokens() : {}), ...(spec.live ? liveTokens() : {}) },
  latencyMs: spec.latencyMs ?? 0,
});

// A monotonic request counter, by wrapping the recorder's push (the array itself is
// truncated below), plus optional per-x-request-id counts for exact attribution.
let total = 0;
let tagPrefix = '';
let tagged = new Map<string, number>();
const callsById = new Map<string, number>();
const EXECUTION_PATH = '/v1/executions/';
const live = spec.live ? new LiveChanges(upstream) : undefined;
const push = upstream.requests.push.bind(upstream.requests);
upstream.requests.push = (...items: RecordedRequest[]): number => {
  total += items.length;
  for (const item of items) {
    const id = item.path.startsWith(EXECUTION_PATH) ? item.path.slice(EXECUTION_PATH.length) : '(other path)';
    callsById.set(id, (callsById.get(id) ?? 0) + 1);
    live?.requested(id);
  }
  if (tagPrefix) {
    for (const item of items) {
      const id = item.headers['x-request-id'];
      if (typeof id === 'string' && id.startsWith(tagPrefix)) tagged.set(id, (tagged.get(id) ?? 0) + 1);
    }
  }
  return push(...items);
};
// Recorded requests would grow without bound under load; the bench counts them itself.
setInterval(() => (upstream.requests.length = 0), 1000).unref();

const control = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://control');
  const json = (status: number, value: unknown) => {
    const body = JSON.stringify(value);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  if (request.method === 'GET' && url.pathname === '/stats') {
    return json(200, { requests: total, inFlight: upstream.inFlight, maxInFlight: upstream.maxInFlight, latencyMs: upstream.latencyMs });
  }
  if (request.method === 'POST' && url.pathname === '/latency') {
    const ms = Number(url.searchParams.get('ms'));
    if (!Number.isFinite(ms) || ms < 0) return json(400, { error: 'ms must be a number >= 0' });
    upstream.latencyMs = ms;
    return json(200, { latencyMs: upstream.latencyMs });
  }
  if (request.method === 'POST' && url.pathname === '/reset-max') {
    upstream.maxInFlight = upstream.inFlight;
    return json(200, { maxInFlight: upstream.maxInFlight });
  }
  if (request.method === 'POST' && url.pathname === '/tag') {
    tagPrefix = url.searchParams.get('prefix') ?? '';
    tagged = new Map();
    return json(200, { prefix: tagPrefix });
  }
  if (request.method === 'GET' && url.pathname === '/tagged') {
    return json(200, { prefix: tagPrefix, counts: Object.fromEntries(tagged) });
  }
  if (request.method === 'GET' && url.pathname === '/calls') {
    return json(200, Object.fromEntries(callsById));
  }
  if (live && url.pathname.startsWith('/live/')) {
    if (request.method === 'POST' && url.pathname === '/live/setup') {
      let text = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (text += chunk));
      request.on('end', () => {
        try {
          live.setup(JSON.parse(text) as LiveSetup);
          json(200, live.stats());
        } catch (error) {
          json(400, { error: `body must be a LiveSetup: ${(error as Error).message}` });
        }
      });
      return;
    }
    if (request.method === 'POST' && url.pathname === '/live/start') {
      try {
        live.start();
        return json(200, live.stats());
      } catch (error) {
        return json(409, { error: (error as Error).message });
      }
    }
    if (request.method === 'POST' && url.pathname === '/live/stop') {
      live.stop();
      return json(200, live.stats());
    }
    if (request.method === 'GET' && url.pathname === '/live/changes') return json(200, live.changes(Number(url.searchParams.get('from') ?? 0) || 0));
    if (request.method === 'GET' && url.pathname === '/live/stats') return json(200, live.stats());
  }
  if (request.method === 'POST' && url.pathname === '/faults') {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      try {
        const faults = JSON.parse(text) as Record<string, Fault | null>;
        for (const [id, fault] of Object.entries(faults)) upstream.setFault(id, fault ?? undefined);
        json(200, { faults: Object.keys(faults).length });
      } catch (error) {
        json(400, { error: `body must be {"<id>": Fault | null}: ${(error as Error).message}` });
      }
    });
    return;
  }
  json(404, { error: 'not found' });
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
const { port: controlPort } = control.address() as AddressInfo;

process.stdout.write(`${JSON.stringify({ url: upstream.url, control: `http://127.0.0.1:${controlPort}` })}\n`);
process.on('SIGTERM', () => {
  live?.stop();
  control.close();
  void upstream.close().then(() => process.exit(0));
});
