/**
 * What every execution result gets once its operation has run: the request's
 * scope is released (budget timer, client watch), "Did you mean …?" hints are
 * stripped when suggestions are hidden, `extensions.warnings` lists the values
 * served as null or replaced (at most MAX_WARNINGS_PER_RESULT, then
 * `extensions.warningsOmitted` counts the rest; whatever the cost setting says;
 * neither has notes of values an error nulled since), and
 * `extensions.upstream` reports what the request cost upstream (calls, cache
 * hits, shared calls, time), as Shopify reports query cost.
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { DataWarning } from '../errors.js';
import { endsWatch } from '../live/live-executions.js';
import type { GatewayContext } from '../request/context.js';
import { withoutSuggestions } from './operation-limits.js';

export interface FinishOptions {
  /** Strip the "Did you mean …?" hints graphql-js's executor adds to variable errors. */
  hideSuggestions: boolean;
  /** Report the upstream cost in `extensions.upstream`. */
  reportCost: boolean;
}

function finish(result: ExecutionResult, context: GatewayContext, options: FinishOptions): ExecutionResult {
  const { scope } = context;
  scope.dispose();
  if (options.hideSuggestions) withoutSuggestions(result);
  const notes = notesInData(result, scope);
  if (!options.reportCost && !notes) return result;
  const upstream = options.reportCost ? costOf(scope.cost) : undefined;
  // The common case, a cost and nothing else, as one literal (docs/performance.md "What each plugin costs").
  if (!notes && result.extensions === undefined) return withExtensions(result, { upstream });
  const extensions: Record<string, unknown> = { ...result.extensions };
  if (notes) withWarnings(extensions, notes);
  if (upstream) extensions.upstream = upstream;
  return withExtensions(result, extensions);
}

function costOf({ calls, cacheHits, sharedCalls, timeMs }: GatewayContext['scope']['cost']): Record<string, number> {
  return { calls, cacheHits, sharedCalls, timeMs: Math.round(timeMs) };
}

/**
 * `result` with `extensions`, its keys in the same order (`extensions` last unless it was there).
 * Written out for a result of `data` and `errors` rather than spread: a spread result with a key
 * added made every later step that read it slower, which no profile put on this function
 * (docs/performance.md "What each plugin costs"). Any other result is spread.
 */
function withExtensions(result: ExecutionResult, extensions: Record<string, unknown>): ExecutionResult {
  let keys = '';
  for (const key in result) {
    if (key !== 'data' && key !== 'errors') return { ...result, extensions };
    keys += key[0];
  }
  if (keys === 'd') return { data: result.data, extensions };
  if (keys === 'de') return { data: result.data, errors: result.errors, extensions };
  if (keys === 'ed') return { errors: result.errors, data: result.data, extensions };
  return { ...result, extensions };
}

/**
 * Each update of a live subscription gets its own notes (its scope started over for it: RequestScope.beginUpdate).
 * A result whose error ended its watch (NOT_FOUND once upstream answered, SHUTTING_DOWN, …) is that error alone, no
 * `data`: what a watch refused before any upstream call gets (graphql-js's answer to a subscription it could not
 * start), so a client reads one shape for a watch that ended, and `data: null` only on an update that goes on (an
 * outage notice) or was refused as a whole (./refused-updates.ts).
 */
function finishUpdate(result: ExecutionResult, context: GatewayContext): ExecutionResult {
  if (result.errors?.some(endsWatch)) return { errors: result.errors };
  const notes = notesInData(result, context.scope);
  return notes ? { ...result, extensions: withWarnings({ ...result.extensions }, notes) } : result;
}

type Path = DataWarning['path'];

interface Notes {
  listed: DataWarning[];
  omitted: number;
}

/**
 * The scope's notes that still point into `data`. Resolvers note a value as they serve it, before
 * the executor knows whether an error will null an enclosing object (a non-null field's error
 * propagates up to the nearest nullable one): a note under such a null, or under an error's own
 * path, names a value the client never gets. `omitted` counts the notes past the cap by the same
 * rule, so the dropped ones are in neither (the first MAX_OMITTED_PATHS_CHECKED of them; the rest
 * are counted in the same proportion as those). Without errors nothing is nulled after the note was
 * made, and nothing is walked.
 */
function notesInData(result: ExecutionResult, scope: GatewayContext['scope']): Notes | undefined {
  const { warnings, omittedWarningPaths = [], omittedUnchecked } = scope;
  if (!warnings) return undefined;
  if (!result.errors?.length) return { listed: warnings, omitted: omittedWarningPaths.length + omittedUnchecked };
  const errorPaths = pathTree(result.errors.flatMap((error) => (error.path ? [error.path] : [])));
  const kept = (path: Path) => leadsToValue(result.data, path, errorPaths);
  const listed = warnings.filter((warning) => kept(warning.path));
  const checked = omittedWarningPaths.filter(kept).length;
  // Past the paths kept, the share of the checked notes that still point into `data`.
  const omitted = checked + (omittedUnchecked && Math.round((omittedUnchecked * checked) / omittedWarningPaths.length));
  return listed.length > 0 || omitted > 0 ? { listed, omitted } : undefined;
}

/** Paths as a tree (a path ends where `end` is set), so a note is checked against every error in one walk of its own path. */
interface PathTree {
  end?: true;
  next: Map<string | number, PathTree>;
}

function pathTree(paths: readonly Path[]): PathTree {
  const root: PathTree = { next: new Map() };
  for (const path of paths) {
    let node = root;
    for (const key of path) {
      let child = node.next.get(key);
      if (!child) node.next.set(key, (child = { next: new Map() }));
      node = child;
    }
    node.end = true;
  }
  return root;
}

/**
 * Whether every object and list on the way to `path` is in `data`, so its last field is in the
 * result (null or not), and no error's path is `path` or leads into it.
 */
function leadsToValue(data: unknown, path: Path, errorPaths: PathTree): boolean {
  let node = data;
  let errors: PathTree | undefined = errorPaths;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string | number, unknown>)[key];
    errors = errors?.next.get(key);
    if (errors?.end) return false;
  }
  return true;
}

/** `warnings`, and `warningsOmitted` when notes were past the cap. */
function withWarnings(extensions: Record<string, unknown>, notes: Notes): Record<string, unknown> {
  extensions.warnings = notes.listed;
  if (notes.omitted > 0) extensions.warningsOmitted = notes.omitted;
  return extensions;
}

export function useExecutionFinish(options: FinishOptions): Plugin<GatewayContext> {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          setResult(finish(result, args.contextValue, options));
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ args, result, setResult }) {
          // A subscription refused before it started is an ordinary result, without the cost: a subscription's calls
          // are its shared poller's, never the request's (none of its updates reports one), so it was always 0.
          if (!(Symbol.asyncIterator in result)) {
            setResult(finish(result, args.contextValue, { ...options, reportCost: false }));
            return;
          }
          return {
            onNext: ({ result: update, setResult: setUpdate }) => setUpdate(finishUpdate(update, args.contextValue)),
            onEnd: () => args.contextValue.scope.dispose(),
          };
        },
      };
    },
  };
}
