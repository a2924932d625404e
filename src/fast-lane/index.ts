/**
 * The fast lane: a faster way to run the gateway's one pipeline (the plugin list
 * of src/pipeline/gateway.ts), never a second pipeline. It changes how requests
 * run, never whether a plugin or a setting applies:
 *
 * - operations clients repeat run compiled by graphql-jit (./compiled-execution.ts:
 *   after WARM_UP_RUNS on graphql-js, and only within MAX_COMPILED_FIELDS);
 * - Yoga's HTTP steps run without streams, AbortControllers or promise wrappers
 *   where hooks answer synchronously (./runner.ts), and so do Yoga's operation
 *   step and envelop's execute step (./operation-runner.ts); envelop's parse
 *   and validate steps make no closures per hook (./document-steps.ts); the
 *   answer is written in one go (./write-response.ts).
 *
 * `FAST_LANE=false` switches it off: the edge then hands every request to Yoga's
 * own node adapter, and operations run on graphql-js. The lane changes speed,
 * not what a request goes through or gets: test/pipeline-hooks.test.ts and the
 * behaviour suites run on both lanes. It does refuse to start with a plugin hook
 * it does not know (`unrunnableHooks`), which Yoga would run, or ignore when no
 * Yoga runs a hook of that name.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPromise, type Plugin } from 'graphql-yoga';
import type { GatewayServerContext } from '../pipeline/gateway.js';
import { envelopHooks } from './envelop-hooks.js';
import { PipelineRunner, type YogaInternals } from './runner.js';
import { writeResponse } from './write-response.js';

export { COMPILED_BYTES, COMPILED_BYTES_PER_FIELD, compiledBytes, expandedFields, useCompiledExecution } from './compiled-execution.js';
export { useEnvelopHooks } from './envelop-hooks.js';

/** How a transport hands a request to a lane. */
export interface Lane {
  /** True when the lane takes the body already read; false when it reads the request stream itself. */
  readonly readsBodyFirst: boolean;
  /** Serves a node:http request (the HTTP edge). */
  serve(incoming: IncomingMessage, outgoing: ServerResponse, serverContext: GatewayServerContext, body: Buffer | null): void | Promise<void>;
  /** Answers a fetch-API Request, for transports that are not node:http (WebSocket operations, src/server/websocket.ts). */
  fetch(request: Request, serverContext: GatewayServerContext): Promise<Response>;
}

/**
 * Every hook the runner or envelop runs per request, and those that run once; anything else stops the lane from being
 * made. Keyed by Yoga's Plugin type, so an upgrade of Yoga, envelop or @whatwg-node/server that adds a hook fails the
 * typecheck here until the lane runs it.
 */
const RUNNABLE: Record<Exclude<keyof Plugin, symbol>, true> = {
  // The runner's: @whatwg-node/server and Yoga's HTTP steps.
  onRequest: true,
  onRequestParse: true,
  onResultProcess: true,
  onResponse: true,
  // The operation runner's: Yoga's getResultForParams and envelop's parse, validate and execute steps.
  onParams: true,
  onExecutionResult: true,
  onParse: true,
  onValidate: true,
  onExecute: true,
  // envelop's, run by envelop itself (getEnveloped).
  onEnveloped: true,
  onContextBuilding: true,
  onSubscribe: true,
  // Wraps the runner's steps as it wraps Yoga's.
  instrumentation: true,
  // Once, when Yoga is made or disposed: the same on both lanes.
  onPluginInit: true,
  onYogaInit: true,
  onSchemaChange: true,
  onDispose: true,
};
const RUNNABLE_HOOKS: ReadonlySet<string> = new Set(Object.keys(RUNNABLE));

export class FastLaneError extends Error {
  override name = 'FastLaneError';
}

/**
 * Hooks of `plugins` (Yoga's list, its own plugins and those plugins added included) the fast lane cannot run, as
 * "plugin: hook" lines: any `on…` function it does not know (a hook of a newer Yoga, or a misspelt one) is refused
 * rather than silently left out. A plugin is named by its `name`; one without is numbered from 1 in Yoga's list,
 * which is longer than the gateway's (src/pipeline/gateway.ts): Yoga puts its own plugins around it.
 */
export function unrunnableHooks(plugins: YogaInternals['plugins']): string[] {
  const found: string[] = [];
  plugins.forEach((plugin, index) => {
    if (!plugin) return;
    for (const key of hookNames(plugin)) {
      const value: unknown = (plugin as Record<string, unknown>)[key];
      const isHook = /^on[A-Z]/.test(key) && typeof value === 'function';
      if (isHook && !RUNNABLE_HOOKS.has(key) && value) found.push(`${pluginCalled(plugin, index, plugins.length)}: ${key}`);
    }
  });
  return found;
}

/** Own and inherited property names: a plugin may be a class instance with hooks as methods. */
function hookNames(plugin: object): Set<string> {
  const names = new Set<string>();
  for (let layer: object | null = plugin; layer && layer !== Object.prototype; layer = Object.getPrototypeOf(layer) as object | null) {
    for (const name of Object.getOwnPropertyNames(layer)) if (name !== 'constructor') names.add(name);
  }
  return names;
}

function pluginCalled(plugin: object, index: number, count: number): string {
  const name = (plugin as { name?: unknown }).name;
  return typeof name === 'string' && name ? `plugin "${name}"` : `an unnamed plugin, #${index + 1} of ${count} in Yoga's list (give it a \`name\`)`;
}

/**
 * The fast lane over a Yoga instance. Throws FastLaneError, naming each plugin
 * and hook, when a registered plugin has a hook the lane cannot run: serve with
 * FAST_LANE=false instead, where Yoga runs everything itself.
 */
export function createFastLane(gateway: object): Lane {
  const internals = gateway as YogaInternals;
  const refused = unrunnableHooks(internals.plugins);
  if (refused.length > 0) {
    throw new FastLaneError(`the fast lane cannot run these plugin hooks: ${refused.join('; ')}. Set FAST_LANE=false to serve every request through Yoga's own handler.`);
  }
  const envelop = envelopHooks(internals.plugins);
  if (!envelop) throw new FastLaneError('the fast lane needs useEnvelopHooks() registered before every other plugin of the gateway, to run the hooks envelop runs.');
  const runner = new PipelineRunner(internals, envelop);
  return {
    readsBodyFirst: true,
    serve(incoming, outgoing, serverContext, body) {
      const answer = runner.run(runner.request(incoming, outgoing, body), serverContext);
      // Yoga's steps may answer with a settled "fake" promise (@whatwg-node/promise-helpers), not a Promise.
      return isPromise(answer) ? Promise.resolve(answer).then((response) => writeResponse(response, outgoing, incoming)) : writeResponse(answer, outgoing, incoming);
    },
    fetch(request, serverContext) {
      return Promise.resolve(runner.run(request, serverContext));
    },
  };
}
