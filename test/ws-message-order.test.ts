/**
 * The order in which one WebSocket connection's messages reach graphql-ws
 * (src/server/ws-message-order.ts), with a handler that records what it got
 * and settles each `subscribe` when the test says: the cases the live suites
 * cannot time on purpose. test/live-ws.test.ts proves the whole over sockets.
 */
import { describe, expect, it } from 'vitest';
import { orderedById } from '../src/server/ws-message-order.js';

/** A handler whose `subscribe`s run until `end(n)` (in order of arrival); every other message settles at once. */
function recordingHandler() {
  const handled: string[] = [];
  const endings: Array<() => void> = [];
  const handle = (text: string): Promise<void> => {
    handled.push(text);
    if (!text.includes('"subscribe"')) return Promise.resolve();
    return new Promise<void>((resolve) => endings.push(resolve));
  };
  return { handled, handle, end: (index: number) => endings[index]!() };
}

const subscribe = (id: string) => JSON.stringify({ id, type: 'subscribe', payload: { query: '{ __typename }' } });
const complete = (id: string) => JSON.stringify({ id, type: 'complete' });
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('orderedById', () => {
  it('holds a subscribe that takes a completed id again until the earlier operation is done, then hands it on', async () => {
    const { handled, handle, end } = recordingHandler();
    const dispatch = orderedById(handle, () => true);
    void dispatch(subscribe('a'));
    void dispatch(complete('a'));
    void dispatch(subscribe('a'));
    void dispatch(subscribe('b'));
    await settled();
    expect(handled).toEqual([subscribe('a'), complete('a'), subscribe('b')]);
    end(0);
    await settled();
    expect(handled).toEqual([subscribe('a'), complete('a'), subscribe('b'), subscribe('a')]);
  });

  it('hands a held subscribe on once the earlier operation is done, though graphql-ws failed its handling', async () => {
    const handled: string[] = [];
    let fail: (error: Error) => void = () => undefined;
    const handle = (text: string): Promise<void> => {
      handled.push(text);
      if (handled.length > 1) return Promise.resolve();
      return new Promise<void>((_resolve, reject) => (fail = reject));
    };
    const dispatch = orderedById(handle, () => true);
    const first = dispatch(subscribe('a'));
    void dispatch(complete('a'));
    const again = dispatch(subscribe('a'));
    fail(new Error('the socket went away mid-send'));
    // What graphql-ws rejects with is passed on; the next operation with the id still runs.
    await expect(first).rejects.toThrow('the socket went away mid-send');
    await expect(again).resolves.toBeUndefined();
    expect(handled).toEqual([subscribe('a'), complete('a'), subscribe('a')]);
  });

  it('hands a complete for an id no subscribe has on at once, and a message whose id is no string (graphql-ws refuses it)', async () => {
    const { handled, handle } = recordingHandler();
    const dispatch = orderedById(handle, () => true);
    expect(() => void dispatch(complete('never'))).not.toThrow();
    const numbered = (type: string) => JSON.stringify({ id: 1, type, payload: { query: '{ __typename }' } });
    void dispatch(numbered('subscribe'));
    void dispatch(numbered('complete'));
    void dispatch(numbered('subscribe'));
    await settled();
    expect(handled).toEqual([complete('never'), numbered('subscribe'), numbered('complete'), numbered('subscribe')]);
  });

  it('hands a true duplicate on at once, for graphql-ws to close the connection with 4409', async () => {
    const { handled, handle } = recordingHandler();
    const dispatch = orderedById(handle, () => true);
    void dispatch(subscribe('a'));
    void dispatch(subscribe('a'));
    await settled();
    expect(handled).toEqual([subscribe('a'), subscribe('a')]);
  });

  it('keeps a complete of the held subscribe after it, so the operation it ends has started', async () => {
    const { handled, handle, end } = recordingHandler();
    const dispatch = orderedById(handle, () => true);
    void dispatch(subscribe('a'));
    void dispatch(complete('a'));
    void dispatch(subscribe('a'));
    void dispatch(complete('a'));
    await settled();
    expect(handled).toEqual([subscribe('a'), complete('a')]);
    end(0);
    await settled();
    expect(handled).toEqual([subscribe('a'), complete('a'), subscribe('a'), complete('a')]);
  });

  it('drops a held message when the connection closed meanwhile: graphql-ws would start an operation nobody can end', async () => {
    const { handled, handle, end } = recordingHandler();
    let open = true;
    const dispatch = orderedById(handle, () => open);
    void dispatch(subscribe('a'));
    void dispatch(complete('a'));
    void dispatch(subscribe('a'));
    open = false;
    end(0);
    await settled();
    expect(handled).toEqual([subscribe('a'), complete('a')]);
  });
});
