/**
 * Sums a V8 sampling heap profile (bench/lib/allocation-sampler.mjs) by where
 * the bytes were allocated: a package under node_modules (`graphql-yoga`,
 * `@envelop/core`), a folder of a gateway's sources (`gateway: fast-lane`,
 * compiled or not), one of node's own modules (`node:_http_server`), or V8
 * itself (builtins, JSON.parse, the API: `(V8)`).
 */

/** The parts of V8's SamplingHeapProfile read here. */
export interface SamplingHeapProfile {
  head: ProfileNode;
}

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  /** Bytes the samples at this node stand for. */
  selfSize: number;
  children: ProfileNode[];
}

export interface AllocationSummary {
  /** Bytes allocated in the sampled time, as the samples estimate them. */
  totalBytes: number;
  /** Bytes by source, largest first. */
  bySource: { source: string; bytes: number }[];
}

/** Where a frame's code lives (see the module's docstring). */
export function sourceOf(url: string): string {
  if (!url) return '(V8)';
  // The innermost node_modules: a package nested under another is itself.
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const gateway = /\/(?:src|\.bench-dist)\/(?:([^/]+)\/)?[^/]+$/.exec(url);
  if (gateway) return `gateway: ${gateway[1] ?? '(top level)'}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

export function summarizeAllocations(profile: SamplingHeapProfile): AllocationSummary {
  const bytes = new Map<string, number>();
  let totalBytes = 0;
  // Iterative: a deep async stack would overflow a recursive walk.
  const pending: ProfileNode[] = [profile.head];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (node.selfSize > 0) {
      const source = sourceOf(node.callFrame.url);
      bytes.set(source, (bytes.get(source) ?? 0) + node.selfSize);
      totalBytes += node.selfSize;
    }
    pending.push(...node.children);
  }
  return { totalBytes, bySource: [...bytes].map(([source, each]) => ({ source, bytes: each })).sort((a, b) => b.bytes - a.bytes) };
}
