/**
 * Which build this process runs, for `/health`, the `gateway_build_info` metric
 * and the start-up log line, so an operator can tell the replicas of a rolling
 * deploy apart (README "Upgrading a running fleet").
 *
 * `npm run build` (scripts/build.mjs) writes dist/build-info.json beside the
 * compiled files: the package's version and the git commit it was built from
 * (null where git or the repository was not at hand). Run from source (tsx),
 * there is no such file: the version is read from package.json and `commit` is
 * null.
 */
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  /** package.json's `version`. */
  version: string;
  /** `git rev-parse HEAD` at build time, `-dirty` appended when tracked files had changes; null when unknown (run from source, or built without this repository's git). */
  commit: string | null;
}

function readJson(relative: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function read(): BuildInfo {
  // dist/build-info.js reads dist/build-info.json; src/ and dist/ both sit one level below package.json.
  const built = readJson('./build-info.json');
  const version = typeof built?.version === 'string' ? built.version : String(readJson('../package.json')?.version ?? 'unknown');
  const commit = typeof built?.commit === 'string' && /^[0-9a-f]{40}(-dirty)?$/.test(built.commit) ? built.commit : null;
  return { version, commit };
}

export const buildInfo: Readonly<BuildInfo> = Object.freeze(read());
