/**
 * readBody (src/server/request-body.ts) on a real stream: any body, in any
 * chunks, comes back byte for byte, in a buffer no larger than the limit; past
 * the limit it is OVER_LIMIT at once, and reading has stopped (the stream
 * paused, no listener left on its data).
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OVER_LIMIT, readBody } from '../src/server/request-body.js';

const chunksArb = fc.array(fc.uint8Array({ minLength: 1, maxLength: 3_000 }), { maxLength: 12 }).map((chunks) => chunks.map((chunk) => Buffer.from(chunk)));

describe('readBody', () => {
  it('returns any body, in any chunks, byte for byte, in a buffer no larger than the limit (nor twice the body, past 4 KiB)', async () => {
    await fc.assert(
      fc.asyncProperty(chunksArb, fc.integer({ min: 0, max: 40_000 }), async (chunks, extra) => {
        const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        const limit = total + extra;
        const stream = new PassThrough();
        const read = readBody(stream as unknown as IncomingMessage, limit);
        for (const chunk of chunks) stream.write(chunk);
        stream.end();
        const body = (await read) as Buffer;
        expect(Buffer.compare(body, Buffer.concat(chunks))).toBe(0);
        // One chunk is kept as it came; more are copied into one buffer grown by doubling, up to the limit.
        if (chunks.length > 1) expect(body.buffer.byteLength).toBeLessThanOrEqual(Math.min(limit, Math.max(2 * total, 4_096)));
      }),
    );
  });

  it('is OVER_LIMIT as soon as more than the limit arrived, and stops reading there', async () => {
    await fc.assert(
      fc.asyncProperty(chunksArb.filter((chunks) => chunks.length > 0), fc.nat(), async (chunks, seed) => {
        const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        const limit = seed % total;
        const stream = new PassThrough();
        const read = readBody(stream as unknown as IncomingMessage, limit);
        // The stream stays open: the answer does not wait for the rest.
        for (const chunk of chunks) stream.write(chunk);
        expect(await read).toBe(OVER_LIMIT);
        expect(stream.isPaused()).toBe(true);
        expect(stream.listenerCount('data')).toBe(0);
        stream.destroy();
      }),
    );
  });

  it('is null when the client goes away before the end', async () => {
    for (const leave of [(stream: PassThrough) => stream.destroy(), (stream: PassThrough) => stream.destroy(new Error('ECONNRESET'))]) {
      const stream = new PassThrough();
      stream.on('error', () => undefined);
      const read = readBody(stream as unknown as IncomingMessage, 10_000);
      stream.write(Buffer.from('{"query":'));
      leave(stream);
      expect(await read).toBeNull();
    }
  });
});
