/**
 * Walking plugin hooks without promise wrappers while they answer
 * synchronously: the two steps the fast lane's runners are made of. Yoga and
 * envelop use @whatwg-node/promise-helpers' `iterateAsync` and
 * `handleMaybePromise`, which make several closures and settled promise
 * objects per hook even when nothing is asynchronous.
 */
import { isPromise, type Plugin } from 'graphql-yoga';

/** Where a walk over hooks stands: a hook that ends it early (endResponse, setResultAndStopExecution) sets `ended`. */
export interface Walk {
  ended: boolean;
}

/** A walk no hook can end early. */
export const NEVER_ENDS: Walk = { ended: false };

/**
 * Calls `call` for each hook (and its index) in order until `walk.ended`.
 * Callers name the hook's parameter as Yoga, envelop and @whatwg-node/server
 * name theirs, so a hook that is not a function fails with the same message.
 * While hooks answer synchronously no promise is made; from the first promise
 * on, the rest wait for it, as promise-helpers' `iterateAsync` does.
 */
export function eachHook<H>(hooks: readonly H[], walk: Walk, call: (hook: H, index: number) => unknown): void | Promise<void> {
  for (let i = 0; i < hooks.length && !walk.ended; i++) {
    const value = call(hooks[i]!, i);
    if (isPromise(value)) {
      return value.then(async () => {
        for (let j = i + 1; j < hooks.length && !walk.ended; j++) await call(hooks[j]!, j);
      });
    }
  }
}

/**
 * `next(value)`, after `value` settles when it is a promise: synchronous
 * otherwise. Not named `then`: a module exporting `then` is a thenable to
 * `await import()`.
 */
export function whenSettled<T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return isPromise(value) ? value.then(next) : next(value);
}

/** A plugin's hook of that name, and the payload it is called with. */
export type Hook<Name extends keyof Plugin> = NonNullable<Plugin[Name]>;
export type Payload<Name extends keyof Plugin> = Hook<Name> extends (payload: infer P) => unknown ? P : never;

/**
 * The `name` hooks of `plugins`, in plugin order, taken as envelop, Yoga and
 * @whatwg-node/server take them: any truthy value, so one that is not a
 * function fails when it is called, as it does there.
 */
export function hooksNamed<Name extends keyof Plugin>(plugins: readonly (Plugin | undefined | null | false)[], name: Name): Hook<Name>[] {
  const hooks: Hook<Name>[] = [];
  for (const plugin of plugins) {
    const hook = plugin ? plugin[name] : undefined;
    if (hook) hooks.push(hook as Hook<Name>);
  }
  return hooks;
}
