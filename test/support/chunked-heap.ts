/**
 * Child process of test/chunked-bodies.test.ts: a node:http server reading
 * request bodies as the edge does (readBody), sent `uploads` chunked bodies of
 * `bytes` bytes each in 1-byte chunks and never their last chunk, so every one
 * is held mid-way. Says on stderr how much the heap grew (after full
 * collections) once every byte has arrived, and waits to be killed.
 *   node --expose-gc --import tsx test/support/chunked-heap.ts <uploads> <bytes>
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { readBody } from '../../src/server/request-body.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const uploads = Number(process.argv[2]);
const bytes = Number(process.argv[3]);
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

let received = 0;
const server = createServer({ requestTimeout: 0 }, (request) => {
  request.on('data', (chunk: Buffer) => (received += chunk.length));
  void readBody(request, 65_536);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const body = '1\r\na\r\n'.repeat(bytes);
await settle();
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < uploads; i++) {
  const socket = connect(port, '127.0.0.1');
  socket.write(`POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
}
while (received < uploads * bytes) await settle();
gc();
process.stderr.write(`${JSON.stringify({ grownBytes: process.memoryUsage().heapUsed - before })}\n`);
setInterval(() => undefined, 60_000);
