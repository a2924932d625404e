/**
 * envelop's hook lists as envelop holds them, and its context step's error
 * handlers as only envelop can call them.
 *
 * envelop collects each plugin's hooks once, when Yoga makes it, before Yoga
 * calls any plugin's `onYogaInit`: a hook a plugin sets in its `onYogaInit` is
 * never run by envelop. The fast lane takes the lists at that same moment, in
 * the `onYogaInit` of `useEnvelopHooks()`, which src/pipeline/gateway.ts puts
 * before every other plugin of the gateway (Yoga's own that come earlier set
 * no hooks there).
 *
 * The handlers plugins register for context failures
 * (`registerContextErrorHandler`, as Yoga's error masking does) live inside
 * envelop. When a context hook fails on the fast lane, `failedContext` runs
 * envelop's own context step with this plugin's hook, the first context hook,
 * throwing that failure before any other hook runs, so envelop's handlers see
 * it on the same context and the step throws what they leave.
 */
import type { Plugin } from 'graphql-yoga';
import { hooksNamed, type Hook } from './hook-walk.js';

type Plugins = readonly (Plugin | undefined | null | false)[];

/** The envelop hooks the fast lane runs itself, in plugin order. */
export interface EnvelopHooks {
  onParse: Hook<'onParse'>[];
  onValidate: Hook<'onValidate'>[];
  onContextBuilding: Hook<'onContextBuilding'>[];
  onExecute: Hook<'onExecute'>[];
}

/** Keyed by the Yoga instance's plugin list: the same array through Yoga's proxy, where its methods are bound anew on each read. */
const taken = new WeakMap<Plugins, EnvelopHooks>();

/** A context hook's failure on the fast lane, for envelop's own context step to throw (`failedContext`). */
const failures = new WeakMap<object, { error: unknown }>();

function rethrowFailure({ context }: { context: object }): void {
  const failure = failures.get(context);
  if (!failure) return;
  failures.delete(context);
  throw failure.error;
}

/** Takes envelop's hook lists when Yoga starts its plugins' `onYogaInit` calls; first in the plugin list. */
export function useEnvelopHooks(): Plugin {
  return {
    onYogaInit({ yoga }) {
      const { plugins } = yoga as unknown as { plugins: Plugins };
      taken.set(plugins, {
        onParse: hooksNamed(plugins, 'onParse'),
        onValidate: hooksNamed(plugins, 'onValidate'),
        onContextBuilding: hooksNamed(plugins, 'onContextBuilding'),
        onExecute: hooksNamed(plugins, 'onExecute'),
      });
    },
    onContextBuilding: rethrowFailure,
  };
}

/**
 * The lists `useEnvelopHooks()` took for this plugin list; undefined when it was
 * not registered, or when another context hook comes before its own, which
 * would then run twice for a failed context.
 */
export function envelopHooks(plugins: Plugins): EnvelopHooks | undefined {
  const hooks = taken.get(plugins);
  return hooks && hooks.onContextBuilding[0] === rethrowFailure ? hooks : undefined;
}

/**
 * Throws `error`, a context hook's failure, as envelop's context step would:
 * after its context error handlers ran on it. `contextStep` is envelop's own
 * step for the same context (`getEnveloped(context).contextFactory`).
 */
export function failedContext(context: object, error: unknown, contextStep: () => unknown): unknown {
  failures.set(context, { error });
  try {
    return contextStep();
  } finally {
    // Only when envelop did not reach this plugin's hook: nothing is left behind either way.
    failures.delete(context);
  }
}
