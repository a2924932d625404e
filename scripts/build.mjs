// @ts-check
/**
 * `npm run build`: compiles the server (src/, tsconfig.build.json) to a fresh dist/
 * with the local TypeScript, and records in dist/ digests of what it compiled so
 * `npm start` (scripts/start.mjs) can tell whether its sources changed since.
 *
 * Plain JavaScript on purpose: start.mjs imports it where the development
 * dependencies (tsx, typescript) have been pruned.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'main.js');
/**
 * What the build read, by content: written before tsc reads the inputs (a source saved while
 * tsc runs then differs from it), and compared by staleness().
 */
const INPUTS = '.build-inputs.json';
/**
 * Held while a build runs (`npm start` and `npm run build` alike), naming its process: two
 * builds at once (two replicas started from one checkout) removed each other's output, and
 * one crashed renaming a stamp the other had deleted; a build also deletes what killed builds
 * left beside dist/, which must not be another's running build.
 */
const LOCK = path.join(root, '.dist-build.lock');
/** Where a build compiles (suffixed with its pid), renamed to dist/ once it succeeded. */
const BUILDING = 'dist.building';
/** Where the dist/ a build replaces is moved before it is deleted. */
const REPLACED = 'dist.old';
/** A lock this old that names no process is taken over (its holder died between creating and writing it). */
const UNNAMED_LOCK_MS = 5_000;
/**
 * A lock this old is taken over whatever process it names: a build takes seconds, and the pid
 * of a build killed long ago may belong to another process since (containers reuse pids).
 */
const OLDEST_LOCK_MS = 10 * 60_000;
/** Files besides src/ that change what the build emits. */
const CONFIG_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];

/**
 * A sha256 of src/ (every file's path and bytes, in sorted order) and one of each config file
 * (null when absent). By content, not modification time: a release unpacked or synced with
 * its times kept (`tar -x`, `rsync -a`, `cp -p`) over a newer dist/ changes sources without
 * making them newer. Paths count too, so a file added, renamed or deleted changes it.
 * @returns {Record<string, string | null>}
 */
function inputDigests() {
  const src = path.join(root, 'src');
  const files = sourceFiles(src, '', [])
    // Code-unit order, the same on every machine and locale.
    .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const hash = createHash('sha256');
  for (const file of files) {
    const bytes = readFileSync(path.join(src, file));
    // Lengths delimit each path and content, so no two trees hash the same bytes.
    hash.update(`${Buffer.byteLength(file)}:${file}:${bytes.length}:`).update(bytes);
  }
  /** @type {Record<string, string | null>} */
  const digests = { 'src/': hash.digest('hex') };
  for (const file of CONFIG_INPUTS) {
    const at = path.join(root, file);
    digests[file] = existsSync(at) ? createHash('sha256').update(readFileSync(at)).digest('hex') : null;
  }
  return digests;
}

/**
 * The files under `dir`, as `/`-separated paths below it. Walked by hand with the entries'
 * types: readdirSync's `recursive` option and a stat of each entry took ten times as long,
 * and this runs on every `npm start`. Symbolic links are followed, as tsc follows them.
 * @param {string} dir
 * @param {string} below
 * @param {string[]} files
 * @returns {string[]}
 */
function sourceFiles(dir, below, files) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const at = path.join(dir, entry.name);
    const name = below ? `${below}/${entry.name}` : entry.name;
    const stats = entry.isSymbolicLink() ? statSync(at) : entry;
    if (stats.isDirectory()) sourceFiles(at, name, files);
    else if (stats.isFile()) files.push(name);
  }
  return files;
}

/**
 * Why dist/ must be built before it is started, or undefined when it is up to date.
 * @returns {string | undefined}
 */
export function staleness() {
  let built;
  try {
    built = existsSync(entry) ? JSON.parse(readFileSync(path.join(dist, INPUTS), 'utf8')) : undefined;
  } catch {
    // No record (a dist/ built before it was kept, or by hand), or a torn one.
  }
  if (!built) return 'dist/ is missing or was not built by `npm run build`';
  for (const [input, digest] of Object.entries(inputDigests())) {
    if (built[input] !== digest) return `${input} changed since dist/ was built`;
  }
  return undefined;
}

/**
 * The local TypeScript compiler, or undefined when the development dependencies
 * are not installed (`npm prune --omit=dev`, `npm ci --omit=dev`).
 * @returns {string | undefined}
 */
export function findTsc() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

/**
 * dist/build-info.json: the package's version and the git commit built (with
 * `-dirty` when tracked files had changes), which src/build-info.ts serves on
 * /health and as gateway_build_info. Where git or this repository is not at
 * hand (an image built from a context without `.git`, a source tarball, even
 * one inside another repository), the commit is SOURCE_COMMIT's (a full
 * 40-digit hash, e.g. `--build-arg SOURCE_COMMIT=$(git rev-parse HEAD)`), else
 * null.
 */
function writeBuildInfo(/** @type {string} */ out) {
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const git = (/** @type {string[]} */ ...args) => execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  let commit = null;
  try {
    // This repository's own commit only: a tree unpacked inside another repository has none of its own.
    if (realpathSync(git('rev-parse', '--show-toplevel')) === realpathSync(root)) {
      commit = git('rev-parse', 'HEAD');
      // Built from changes not committed: that commit is not what runs.
      if (git('status', '--porcelain', '--untracked-files=no') !== '') commit += '-dirty';
    }
  } catch {
    // No git, or not a repository: the build still runs.
  }
  // Checked before the build began (build).
  commit ??= process.env.SOURCE_COMMIT || null;
  writeFileSync(path.join(out, 'build-info.json'), `${JSON.stringify({ version, commit })}\n`);
}

/**
 * Whether the lock's holder is gone: the process it names no longer runs (a build killed by
 * SIGKILL, or a machine that restarted) or is this one (a container restarted mid-build gives
 * its processes the same pids again), it names none and is older than UNNAMED_LOCK_MS, or it
 * is older than OLDEST_LOCK_MS.
 * @returns {boolean}
 */
function lockAbandoned() {
  let content;
  let ageMs;
  try {
    content = readFileSync(LOCK, 'utf8');
    ageMs = Date.now() - statSync(LOCK).mtimeMs;
  } catch {
    return false; // Gone already: the next attempt takes it.
  }
  if (ageMs > OLDEST_LOCK_MS) return true;
  const pid = Number.parseInt(content, 10);
  if (!(pid > 0)) return ageMs > UNNAMED_LOCK_MS;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it runs, as another user.
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'ESRCH';
  }
}

/**
 * Runs `task` holding the build lock, waiting (polling every 100 ms) while another process
 * holds it; `onWait` is told once, with the holder's pid as the lock names it, when this
 * process has to wait. A lock whose holder is gone is taken over. Two processes that find
 * the same abandoned lock at the same instant may both take it: a killed build and two
 * starts within one poll, which costs a wasted build, as before the lock.
 * Hand-written, not proper-lockfile: `npm start` runs with production dependencies
 * only (README "Production build"), and an exclusive create naming a pid is all it needs.
 * @template T
 * @param {() => Promise<T>} task
 * @param {(holder: string) => void} [onWait]
 * @returns {Promise<T>}
 */
export async function withBuildLock(task, onWait) {
  let told = false;
  for (;;) {
    try {
      writeFileSync(LOCK, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error;
    }
    if (lockAbandoned()) {
      rmSync(LOCK, { force: true });
      continue;
    }
    if (!told) {
      told = true;
      let holder = '';
      try {
        holder = readFileSync(LOCK, 'utf8').trim();
      } catch {
        // Released meanwhile.
      }
      onWait?.(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    return await task();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/**
 * Compiles src/ to a fresh dist/ (no output of a deleted source left behind). Call it
 * holding the build lock (withBuildLock).
 *
 * tsc writes into a sibling directory, which replaces dist/ only once the build succeeded:
 * a type error or a SIGTERM mid-build used to leave dist/ empty, and replicas restarting
 * from it failed with ERR_MODULE_NOT_FOUND. A sibling under the root, so that imports of
 * node_modules and ../schema resolve from it as from dist/, and so that the rename stays
 * within one file system.
 * @param {string} tsc path of typescript/bin/tsc
 * @returns {Promise<number>} tsc's exit code; 1, before anything is removed, when SOURCE_COMMIT is set but no commit hash
 */
export function build(tsc) {
  const given = process.env.SOURCE_COMMIT;
  if (given && !/^[0-9a-f]{40}$/.test(given)) {
    process.stderr.write(`execution-gateway: cannot build: SOURCE_COMMIT must be a full commit hash, 40 lower-case hex digits (git rev-parse HEAD), not ${JSON.stringify(given.slice(0, 60))}.\n`);
    return Promise.resolve(1);
  }
  // Left by a build killed by SIGKILL; holding the lock, no other build is using them.
  for (const each of readdirSync(root)) {
    if (each.startsWith(`${BUILDING}-`) || each.startsWith(`${REPLACED}-`)) rmSync(path.join(root, each), { recursive: true, force: true });
  }
  const out = path.join(root, `${BUILDING}-${process.pid}`);
  mkdirSync(out);
  // Taken before tsc reads the inputs: a source saved while tsc runs differs from the record.
  writeFileSync(path.join(out, INPUTS), `${JSON.stringify(inputDigests())}\n`);
  // --outDir on the command line: tsconfig.build.json keeps naming dist/, what editors and tsc alone emit to.
  const child = spawn(process.execPath, [tsc, '--project', path.join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
  // A supervisor's SIGTERM stops tsc too, not only this process.
  const forward = (/** @type {NodeJS.Signals} */ signal) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      // Still forwarding (to no one) while dist/ is swapped: a signal's default action would
      // stop this process between the two renames, leaving no dist/.
      try {
        if (code === 0) {
          writeBuildInfo(out);
          replaceDist(out);
        }
        resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
      } catch (error) {
        reject(error);
      } finally {
        rmSync(out, { recursive: true, force: true });
        process.off('SIGINT', forward).off('SIGTERM', forward);
      }
    });
  });
}

/**
 * Puts the built directory in dist/'s place: the old one renamed aside first and deleted
 * after, so dist/ is missing only between two renames, not while a whole tree is deleted.
 * @param {string} out
 */
function replaceDist(out) {
  const old = path.join(root, `${REPLACED}-${process.pid}`);
  const hadDist = existsSync(dist);
  if (hadDist) renameSync(dist, old);
  try {
    renameSync(out, dist);
  } catch (error) {
    if (hadDist) renameSync(old, dist);
    throw error;
  }
  if (hadDist) rmSync(old, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tsc = findTsc();
  if (!tsc) {
    process.stderr.write('execution-gateway: cannot build: TypeScript is not installed (run `npm ci` first).\n');
    process.exit(1);
  }
  const waiting = (/** @type {string} */ holder) => process.stderr.write(`execution-gateway: waiting for the build already running (process ${holder || 'unknown'}) …\n`);
  process.exit(await withBuildLock(() => build(tsc), waiting));
}
