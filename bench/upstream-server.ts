/**
 * The fake upstream in its own process for benchmarks, so that the gateway and
 * the load driver never share its event loop. Usage:
 *   tsx bench/upstream-server.ts '<json: { executions: ExecutionSpec[], latencyMs? }>'
 * Prints one line `{"url": "..."}` when listening.
 */
import { makeExecution, type ExecutionSpec } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';

interface UpstreamSpec {
  executions: ExecutionSpec[];
  latencyMs?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{"executions":[]}') as UpstreamSpec;
const upstream = await FakeUpstream.start({
  executions: spec.executions.map((execution) => makeExecution(execution)),
  latencyMs: spec.latencyMs ?? 0,
});
// Recorded requests would grow without bound under load; the bench counts them itself.
setInterval(() => (upstream.requests.length = 0), 1000).unref();
process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);
process.on('SIGTERM', () => void upstream.close().then(() => process.exit(0)));
