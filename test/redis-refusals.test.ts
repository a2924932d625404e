/**
 * Redis's refusals in the log (src/shared-state/redis-refusals.ts): one line
 * at once with the reply, then one a minute counting those since; a timeout or
 * a closed connection is not a refusal. test/live-replicas.test.ts shows the
 * first line from a real Redis full under `noeviction`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RedisRefusals } from '../src/shared-state/redis-refusals.js';

/** What ioredis rejects a command with when Redis answers with an error (redis-errors' ReplyError). */
class ReplyError extends Error {
  override name = 'ReplyError';
}

const REFUSED = 'redis refused a test command: nothing is lost while it does';

describe('RedisRefusals', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the first refusal at once, the rest counted into one line a minute, with the latest reply', () => {
    vi.useFakeTimers();
    const warned: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const refusals = new RedisRefusals({ warn: (fields: Record<string, unknown>, message: string) => warned.push({ fields, message }) } as never, REFUSED);

    refusals.report(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."));
    for (let i = 0; i < 500; i++) refusals.report(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."));
    refusals.report(new ReplyError("READONLY You can't write against a read only replica."));
    // Not refusals: the loss of Redis has its own line.
    refusals.report(new Error('Command timed out'));
    refusals.report(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
    expect(warned).toEqual([{ fields: { reply: "OOM command not allowed when used memory > 'maxmemory'." }, message: REFUSED }]);

    vi.advanceTimersByTime(59_999);
    expect(warned).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(warned.slice(1)).toEqual([
      { fields: { reply: "READONLY You can't write against a read only replica.", suppressed: 501, intervalMs: 60_000 }, message: `${REFUSED} (repeated)` },
    ]);
    // A quiet minute: nothing more, and the next refusal is told at once again.
    vi.advanceTimersByTime(60_000);
    expect(warned).toHaveLength(2);
    refusals.report(new ReplyError('MISCONF Redis is configured to save RDB snapshots'));
    expect(warned).toHaveLength(3);
  });

  it('keeps the first 300 characters of a reply, and counts only ReplyErrors: no other error and no look-alike object', () => {
    const warned: Array<Record<string, unknown>> = [];
    const refusals = new RedisRefusals({ warn: (fields: Record<string, unknown>) => warned.push(fields) } as never, REFUSED);
    // ioredis's other errors: a connection given up, a parser failure, a command aborted.
    for (const name of ['MaxRetriesPerRequestError', 'ParserError', 'AbortError', 'Error']) refusals.report(Object.assign(new Error('lost'), { name }));
    refusals.report({ name: 'ReplyError', message: 'not an Error' });
    refusals.report('ReplyError');
    expect(warned).toEqual([]);
    // A script's error names the script: its text is long, the line is not.
    const reply = `ERR user_script:1: Script attempted to access nonexistent global variable ${'x'.repeat(400)}`;
    refusals.report(new ReplyError(reply));
    expect(warned).toEqual([{ reply: reply.slice(0, 300) }]);
    refusals.close();
  });

  it('at close, reports the count not yet told', () => {
    vi.useFakeTimers();
    const warned: Array<Record<string, unknown>> = [];
    const refusals = new RedisRefusals({ warn: (fields: Record<string, unknown>) => warned.push(fields) } as never, REFUSED);
    for (let i = 0; i < 3; i++) refusals.report(new ReplyError('OOM command not allowed'));
    refusals.close();
    expect(warned).toEqual([{ reply: 'OOM command not allowed' }, { reply: 'OOM command not allowed', suppressed: 2, intervalMs: 60_000 }]);
  });
});
