/**
 * A lease key gone under its holder while its poll is on its way (a FLUSHALL, an eviction under maxmemory with a
 * volatile-* or allkeys-* policy): the holder's publish of what that poll read is refused by the fence, and the
 * holder takes the lease again at its next check, before a follower does. Its next poll then found nothing changed
 * and published nothing, so the follower's watchers kept the older reading until the next change (for an execution
 * that rests: for good). Now the holder owes the followers that reading, and its next check publishes the marker on
 * which they read upstream (src/shared-state/live-leases.ts).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { advance, AUTH_A, putExecution, waitFor, watch } from './support/live.js';
import { useReplicas } from './support/replicas.js';

describe('a lease key gone under its holder mid-poll', () => {
  const replicas = useReplicas('fast');

  it("the holder takes the lease again first: the follower's watchers still get what the holder read meanwhile", async () => {
    const { upstream, clients } = replicas;
    const id = 'ex_r4_key_gone';
    // The holder ticks every 50 ms; the follower checks the lease as its watch starts, then not for 60 s, past the
    // case's end, so the holder takes it again first. At 3 s a check of the follower's could land between the key's
    // going and the holder's next check (about 250 ms, longer on a loaded machine) and take the lease, as designed.
    const a = await replicas.replica({ LIVE_POLL_ACTIVE_MS: '50', LIVE_POLL_WAITING_MS: '50' });
    putExecution(upstream, id, 'workflow_running', { eventCount: 1, organizationId: 'org_a' });
    const onA = watch(clients.for(a, AUTH_A), id);
    await onA.received(1);
    await waitFor(() => a.instance.live.leases!.held === 1, 'a to hold the lease');
    const b = await replicas.replica({ LIVE_POLL_ACTIVE_MS: '60000', LIVE_POLL_WAITING_MS: '60000' });
    const onB = watch(clients.for(b, AUTH_A), id);
    await onB.received(1);
    const store = a.instance.redis!;
    const leaseKey = store.key('lease', store.callerTag(AUTH_A), id);
    const admin = new Redis(replicas.redis.url);
    try {
      // A poll of a's that waits 200 ms for upstream, which changes meanwhile; the lease key goes while it waits.
      upstream.setFault(id, { kind: 'slow', ms: 200 });
      const before = upstream.requestsFor(id).length;
      await waitFor(() => upstream.requestsFor(id).length > before, 'a slow poll on its way');
      const added = advance(upstream, id, 'workflow_running', 2);
      await admin.del(leaseKey);
      await onA.until(() => onA.eventIds.length === added.length, "a's watcher to get the change");
      upstream.setFault(id, undefined);
      await waitFor(() => a.instance.live.leases!.held === 1 && b.instance.live.leases!.held === 0, 'a to hold the lease again');
      await waitFor(() => onB.eventIds.length === added.length, () => `b's watcher to get the change; ${onB.describe()}`, 8_000);
      expect(onB.eventIds).toEqual(added);
    } finally {
      await admin.quit();
    }
  });
});
