/**
 * Keeps graphql-ws from mixing two operations that use one id in turn.
 *
 * graphql-transport-ws lets a client use an id again once the operation that
 * had it completed: only an active id is a duplicate (4409). graphql-ws's
 * makeServer forgets a completed id only when the handling of its `subscribe`
 * settles, some time after the client's `complete`; a `subscribe` with that
 * id arriving meanwhile takes the id, and the first operation's end then
 * sends `complete` under it (the client takes it for the second operation's
 * end) and deletes it, so neither the client's `complete` nor the socket
 * closing reaches the second operation any more: its live watch and poller
 * outlived the connection, for as long as the execution ran.
 *
 * So a `subscribe` or `complete` for an id the client completed waits until
 * graphql-ws has finished with the operation that had it; every other
 * message (a true duplicate among them, which graphql-ws closes with 4409)
 * is handed on at once. The wait lasts as long as the ended operation takes
 * to stop: its request is cancelled at once (./websocket.ts). A message
 * held back is dropped if the connection closed meanwhile: graphql-ws ended
 * the connection's operations when it closed, and would start this one
 * anyway, with nobody to stop it. Each message is parsed once more for its
 * type and id (graphql-ws keeps what it parsed to itself): microseconds for
 * a message of a few KiB, against an operation through the pipeline.
 */

/**
 * The `type` and `id` of a graphql-ws message as sent, unchecked; undefined when
 * it is not JSON or is null (graphql-ws judges it). graphql-ws keeps what it
 * parsed to itself, so the edge reads these two fields again where it needs them.
 */
export function messageHead(text: string): { type: unknown; id: unknown } | undefined {
  try {
    const message = JSON.parse(text) as { type?: unknown; id?: unknown } | null;
    return message === null ? undefined : { type: message.type, id: message.id };
  } catch {
    return undefined;
  }
}

/** The `type` and `id` of a message, when it is an object with a string id; undefined otherwise. */
function typeAndId(text: string): { type: unknown; id: string } | undefined {
  const head = messageHead(text);
  return typeof head?.id === 'string' ? { type: head.type, id: head.id } : undefined;
}

const settle = (promise: Promise<unknown>): Promise<void> => promise.then(
  () => undefined,
  () => undefined,
);

/**
 * `handle` (graphql-ws's handler of one connection's messages) with the
 * messages about an id the client completed held back until graphql-ws is
 * done with its earlier operation, and dropped if by then `open()` says the
 * connection is not. One per connection. What `handle` rejects with is
 * passed on.
 */
export function orderedById(handle: (text: string) => Promise<void>, open: () => boolean): (text: string) => Promise<void> {
  // Per id: graphql-ws's handling of the `subscribe` that has it now, until that settles.
  const subscribing = new Map<string, Promise<void>>();
  // Per id the client completed while its `subscribe` was being handled: what its next messages wait for.
  const completing = new Map<string, Promise<void>>();
  return (text) => {
    const message = typeAndId(text);
    if (message === undefined || (message.type !== 'subscribe' && message.type !== 'complete')) return handle(text);
    const { id } = message;
    const wait = completing.get(id);
    const handled = wait === undefined ? handle(text) : wait.then(() => (open() ? handle(text) : undefined));
    if (message.type === 'subscribe') {
      subscribing.set(id, handled);
      void settle(handled).then(() => {
        if (subscribing.get(id) === handled) subscribing.delete(id);
      });
    } else {
      const running = subscribing.get(id);
      if (running !== undefined) {
        const done = settle(running);
        completing.set(id, done);
        void done.then(() => {
          if (completing.get(id) === done) completing.delete(id);
        });
      }
    }
    return handled;
  };
}
