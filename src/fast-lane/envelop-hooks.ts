/**
 * envelop's hook lists as envelop holds them. envelop collects each plugin's
 * onParse, onValidate and onExecute, and composes their `instrumentation`, once,
 * when Yoga makes it, before Yoga calls any plugin's `onYogaInit`: a hook or an
 * instrumentation a plugin sets or drops in its `onYogaInit` changes nothing for
 * envelop. The fast lane reads the lists at that same moment, in the
 * `onYogaInit` of `useEnvelopHooks()`, which src/pipeline/gateway.ts puts
 * before every other plugin of the gateway (Yoga's own that come earlier set no
 * hooks there).
 */
import type { Plugin } from 'graphql-yoga';
import { hooksNamed, type Hook } from './hook-walk.js';

type Plugins = readonly (Plugin | undefined | null | false)[];

/** The envelop hooks the fast lane runs itself, in plugin order. */
export interface EnvelopHooks {
  onParse: Hook<'onParse'>[];
  onValidate: Hook<'onValidate'>[];
  onExecute: Hook<'onExecute'>[];
  /** The steps envelop's instrumentation wraps, from the plugins' `instrumentation` as envelop composed it. */
  instruments: { parse: boolean; validate: boolean; execute: boolean };
}

function instrumenting(plugins: Plugins, step: 'parse' | 'validate' | 'execute'): boolean {
  return plugins.some((plugin) => Boolean(plugin && plugin.instrumentation?.[step]));
}

/** Keyed by the Yoga instance's plugin list: the same array through Yoga's proxy, where its methods are bound anew on each read. */
const taken = new WeakMap<Plugins, EnvelopHooks>();

/** Takes envelop's hook lists when Yoga starts its plugins' `onYogaInit` calls; first in the plugin list. */
export function useEnvelopHooks(): Plugin {
  return {
    onYogaInit({ yoga }) {
      const { plugins } = yoga as unknown as { plugins: Plugins };
      taken.set(plugins, {
        onParse: hooksNamed(plugins, 'onParse'),
        onValidate: hooksNamed(plugins, 'onValidate'),
        onExecute: hooksNamed(plugins, 'onExecute'),
        instruments: { parse: instrumenting(plugins, 'parse'), validate: instrumenting(plugins, 'validate'), execute: instrumenting(plugins, 'execute') },
      });
    },
  };
}

/** The lists `useEnvelopHooks()` took for this plugin list, or undefined when it was not registered. */
export function envelopHooks(plugins: Plugins): EnvelopHooks | undefined {
  return taken.get(plugins);
}
