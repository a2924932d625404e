/**
 * Reads an upstream body into a string: decodes gzip, deflate and br, and refuses
 * a body whose size (declared, received or decoded) passes the cap before it is
 * buffered, so neither a huge body nor a compression bomb can exhaust memory.
 */
import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

export class UnsupportedEncodingError extends Error {
  override name = 'UnsupportedEncodingError';
}

const decoders: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** Drops a body unread. undici emits 'error' on a destroyed unread body; unhandled, that would kill the process. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

export async function readBody(body: Readable, contentEncoding: string | undefined, contentLength: string | undefined, limit: number): Promise<string> {
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > limit) {
    discard(body);
    throw new BodyTooLargeError(`declared ${declared} bytes`);
  }
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  let source: AsyncIterable<Buffer> = body;
  if (encoding !== 'identity' && encoding !== '') {
    const decoder = decoders[encoding];
    if (!decoder) {
      discard(body);
      throw new UnsupportedEncodingError(encoding);
    }
    const decoded = decoder();
    // pipeline forwards a broken upstream stream to the decoder, which then throws below.
    pipeline(body, decoded, () => {});
    source = decoded;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > limit) throw new BodyTooLargeError(`over ${limit} bytes`);
      chunks.push(chunk);
    }
  } finally {
    if (!body.readableEnded) discard(body);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
