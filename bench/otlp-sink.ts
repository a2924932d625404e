/**
 * A stand-in OpenTelemetry collector for benchmarks: accepts OTLP/HTTP exports
 * on a free loopback port, answers 200 and counts what it received, so the
 * gateway's tracing cost includes exporting. Prints `{"url": …}` once listening
 * and its counts on SIGINT/SIGTERM.
 *
 *   npx tsx bench/otlp-sink.ts &   then   OTEL_EXPORTER_OTLP_ENDPOINT=<url> npm run bench
 */
import { createServer } from 'node:http';

let exports = 0;
let bytes = 0;
const server = createServer((request, response) => {
  request.on('data', (chunk: Buffer) => (bytes += chunk.length));
  request.on('end', () => {
    exports++;
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` })}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stdout.write(`${JSON.stringify({ exports, bytes })}\n`);
    server.close();
    process.exit(0);
  });
}
