/**
 * Redis's refusals in the log (src/shared-state/redis-refusals.ts): one line
 * at once with the reply, then one a minute counting those since; a timeout or
 * a closed connection is not a refusal. test/live-replicas.test.ts shows the
 * first line from a real Redis full under `noeviction`.
 */
import { describe, expect, it } from 'vitest';
import { RedisRefusals } from '../src/shared-state/redis-refusals.js';

/** What ioredis rejects a command with when Redis answers with an error (redis-errors' ReplyError). */
class ReplyError extends Error {
  override name = 'ReplyError';
}

describe('RedisRefusals', () => {
  it('the first refusal at once, the rest counted into one line a minute, with the latest reply', () => {
    let now = 1_000_000;
    const warned: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const refusals = new RedisRefusals({ warn: ((fields: Record<string, unknown>, message: string) => warned.push({ fields, message })) as never }, () => now);

    refusals.report(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."));
    for (let i = 0; i < 500; i++) refusals.report(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."));
    refusals.report(new ReplyError("READONLY You can't write against a read only replica."));
    // Not refusals: the loss of Redis has its own line.
    refusals.report(new Error('Command timed out'));
    refusals.report(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
    expect(warned).toEqual([
      {
        fields: { reply: "OOM command not allowed when used memory > 'maxmemory'." },
        message: 'redis refused a command: leases and shared cache entries are not stored while it does, each replica polls for itself',
      },
    ]);

    now += 60_000;
    refusals.flush();
    expect(warned.slice(1)).toEqual([
      { fields: { refused: 501, reply: "READONLY You can't write against a read only replica." }, message: 'redis refused more commands since the last warning' },
    ]);
    refusals.flush();
    expect(warned).toHaveLength(2);
  });
});
