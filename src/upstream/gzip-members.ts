/**
 * The complete gzip members (RFC 1952) a body opens with, when bytes that begin no member follow them. Browsers read
 * such a body as its members and drop the rest (Chromium's GzipSourceStream, "matches the behavior of other
 * browsers"), curl writes the members out before it complains; node's gunzip fails the whole body ("incorrect header
 * check", or "unexpected end of file" for a lone trailing newline), and the execution was lost over bytes past the
 * data's end. Each member's CRC-32 and length are checked, so what is returned is exactly what upstream compressed.
 */
import { promisify } from 'node:util';
import { constants, crc32, inflateRaw } from 'node:zlib';

// Off the event loop, as the streaming decoder is: a body near UPSTREAM_MAX_BODY_BYTES inflated in place stalled every request.
const inflateRawAsync = promisify(inflateRaw);

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/** What `inflateRaw` gives with `info: true`: the output, and the engine that counted the input it used. */
interface InflatedWithInfo {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

/** Offset of the deflate data after the member header at `at`; undefined when no gzip header starts there. */
function dataStart(bytes: Buffer, at: number): number | undefined {
  if (bytes.length - at < 10 || bytes[at] !== 0x1f || bytes[at + 1] !== 0x8b || bytes[at + 2] !== 8) return undefined;
  const flags = bytes[at + 3]!;
  if (flags & 0xe0) return undefined;
  let offset = at + 10;
  if (flags & FEXTRA) {
    if (offset + 2 > bytes.length) return undefined;
    offset += 2 + bytes.readUInt16LE(offset);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const end = bytes.indexOf(0, offset);
    if (end < 0) return undefined;
    offset = end + 1;
  }
  if (flags & FHCRC) offset += 2;
  return offset <= bytes.length ? offset : undefined;
}

/**
 * `bytes` (a whole body) read as its complete gzip members, and how many bytes follow them; undefined when it does
 * not open with a complete member, when a member after it is corrupt or cut short (a header, then data that does not
 * decode: a truncated body, not trailing bytes), or when nothing follows (the failure was elsewhere). `limit` bounds
 * the decoded bytes (BodyTooLargeError's cap): past it, undefined too.
 */
export async function completeGzipMembers(bytes: Buffer, limit: number): Promise<{ decoded: Buffer; trailing: number } | undefined> {
  const members: Buffer[] = [];
  let decodedBytes = 0;
  let at = 0;
  for (;;) {
    const start = dataStart(bytes, at);
    if (start === undefined) break;
    let member: InflatedWithInfo;
    try {
      // `info: true` makes node give the engine beside the buffer, which @types/node does not model: its
      // bytesWritten is where this member's data ends.
      member = (await inflateRawAsync(bytes.subarray(start), { info: true, maxOutputLength: Math.max(1, limit - decodedBytes), finishFlush: constants.Z_FINISH })) as unknown as InflatedWithInfo;
    } catch {
      return undefined;
    }
    const end = start + member.engine.bytesWritten;
    if (end + 8 > bytes.length) return undefined;
    if (bytes.readUInt32LE(end) !== crc32(member.buffer) || bytes.readUInt32LE(end + 4) !== member.buffer.length % 2 ** 32) return undefined;
    members.push(member.buffer);
    decodedBytes += member.buffer.length;
    at = end + 8;
  }
  if (members.length === 0 || at >= bytes.length) return undefined;
  return { decoded: Buffer.concat(members, decodedBytes), trailing: bytes.length - at };
}
