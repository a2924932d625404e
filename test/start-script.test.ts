/**
 * `npm start` (scripts/start.mjs) builds dist/ when it is missing or stale, then
 * runs it (README "Production build"). Several processes started from one
 * checkout at once (two local replicas sharing Redis, `npm start` beside `npm run
 * build`) must not build over each other: two at once removed each other's output
 * and one crashed with ENOENT. A build that fails keeps the last dist/, and dist/ is
 * stale when its sources' content changed, whatever their times.
 *
 * Each test runs the real scripts on a scratch copy of the sources (node_modules
 * linked), so the repository's own dist/ is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { captureOutput, type ProcessOutput } from './support/process-output.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCK = '.dist-build.lock';

/** A copy of what the build reads, in a scratch directory. */
function scratchCheckout(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gateway-start-'));
  for (const each of ['src', 'scripts', 'schema', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
    cpSync(path.join(ROOT, each), path.join(dir, each), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

interface Started {
  child: ChildProcess;
  output: ProcessOutput;
}

/** `node scripts/start.mjs` in `dir` on a free port, with the demo upstream and no drain pause. */
function start(dir: string): Started {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0', ACCESS_LOG: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, output: captureOutput(child, { skipNonJson: true }) };
}

/** Resolves true once the process logged that it listens, false if it exited first. */
async function listening({ output }: Started, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void output.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (output.lines().some((line) => line.msg === 'execution-gateway listening')) return true;
    if (exited) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm start from one checkout, several at once', () => {
  it('builds dist/ once, and every process starts it', { timeout: 180_000 }, async () => {
    const dir = scratchCheckout();
    dirs.push(dir);
    const started = [start(dir), start(dir)];
    children.push(...started.map(({ child }) => child));

    const up = await Promise.all(started.map((each) => listening(each, 150_000)));
    const stderr = started.map(({ output }) => output.stderr());
    expect(up, stderr.join('\n---\n')).toEqual([true, true]);
    // One built; the other waited for it and found dist/ up to date.
    expect(stderr.filter((text) => text.includes('building (')).length, stderr.join('\n---\n')).toBe(1);
    for (const text of stderr) expect(text).not.toMatch(/ENOENT|Error:|\n\s+at /);
    expect(existsSync(path.join(dir, LOCK))).toBe(false);

    for (const { child } of started) child.kill('SIGTERM');
    const exits = await Promise.all(started.map(({ output }) => output.exited));
    expect(exits.map(([code]) => code)).toEqual([0, 0]);
  });
});

describe('the build lock (scripts/build.mjs)', () => {
  /** withBuildLock of a scratch copy of scripts/, whose lock is that copy's. */
  async function scratchLock(): Promise<{ dir: string; withBuildLock: <T>(task: () => Promise<T>, onWait?: (holder: string) => void) => Promise<T> }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'gateway-lock-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'scripts'));
    cpSync(path.join(ROOT, 'scripts', 'build.mjs'), path.join(dir, 'scripts', 'build.mjs'));
    const { withBuildLock } = (await import(pathToFileURL(path.join(dir, 'scripts', 'build.mjs')).href)) as {
      withBuildLock: <T>(task: () => Promise<T>, onWait?: (holder: string) => void) => Promise<T>;
    };
    return { dir, withBuildLock };
  }

  it('waits while a running process holds it, then takes it', async () => {
    const { dir, withBuildLock } = await scratchLock();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    children.push(holder);
    writeFileSync(path.join(dir, LOCK), `${holder.pid}\n`);
    const told: string[] = [];
    let ran = false;
    const locked = withBuildLock(async () => {
      ran = true;
      return readFileSync(path.join(dir, LOCK), 'utf8').trim();
    }, (pid) => told.push(pid));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ran).toBe(false);
    expect(told).toEqual([String(holder.pid)]);
    rmSync(path.join(dir, LOCK)); // the holder's build ends
    expect(await locked).toBe(String(process.pid));
    expect(existsSync(path.join(dir, LOCK))).toBe(false);
  });

  it('takes over the lock of a build that was killed', async () => {
    const { dir, withBuildLock } = await scratchLock();
    // What a build killed by SIGKILL leaves: the lock, naming a process that no longer runs.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(path.join(dir, LOCK), `${gone.pid}\n`);
    const told: string[] = [];
    expect(await withBuildLock(async () => 'built', (pid) => told.push(pid))).toBe('built');
    expect(told).toEqual([]);
    expect(existsSync(path.join(dir, LOCK))).toBe(false);
  });

  it('takes over a lock naming this very process (a container restarted mid-build reuses pids) or too old to be a build', async () => {
    const { dir, withBuildLock } = await scratchLock();
    writeFileSync(path.join(dir, LOCK), `${process.pid}\n`);
    expect(await withBuildLock(async () => 'built')).toBe('built');

    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    children.push(holder);
    writeFileSync(path.join(dir, LOCK), `${holder.pid}\n`);
    const longAgo = new Date(Date.now() - 11 * 60_000);
    utimesSync(path.join(dir, LOCK), longAgo, longAgo);
    expect(await withBuildLock(async () => 'built')).toBe('built');
    expect(existsSync(path.join(dir, LOCK))).toBe(false);
  });

  it('releases it when the build fails', async () => {
    const { dir, withBuildLock } = await scratchLock();
    await expect(withBuildLock(() => Promise.reject(new Error('tsc crashed')))).rejects.toThrow('tsc crashed');
    expect(existsSync(path.join(dir, LOCK))).toBe(false);
  });
});

describe('SOURCE_COMMIT (scripts/build.mjs)', () => {
  it('a value that is no commit hash stops the build before anything is removed, and the lock is given back', async () => {
    const dir = scratchCheckout();
    dirs.push(dir);
    mkdirSync(path.join(dir, 'dist'));
    writeFileSync(path.join(dir, 'dist', 'main.js'), '// the last build\n');
    const child = spawn(process.execPath, ['scripts/build.mjs'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SOURCE_COMMIT: 'v1.4.2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toBe('execution-gateway: cannot build: SOURCE_COMMIT must be a full commit hash, 40 lower-case hex digits (git rev-parse HEAD), not "v1.4.2".\n');
    expect(readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8')).toBe('// the last build\n');
    expect(existsSync(path.join(dir, LOCK))).toBe(false);
  });
});

describe('staleness of dist/ (scripts/build.mjs)', () => {
  /** `node scripts/<script>` in `dir` to its end. */
  async function run(dir: string, script: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [script], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stderr };
  }

  async function stalenessOf(dir: string): Promise<string | undefined> {
    const script = path.join(dir, 'scripts', `staleness-${Date.now()}.mjs`);
    writeFileSync(script, "import { staleness } from './build.mjs';\nprocess.stderr.write(String(staleness()));\n");
    const { stderr } = await run(dir, script);
    rmSync(script);
    return stderr === 'undefined' ? undefined : stderr;
  }

  it('is told by content: a source changed with an old time (tar -x, rsync -a, cp -p) makes dist/ stale', { timeout: 120_000 }, async () => {
    const dir = scratchCheckout();
    dirs.push(dir);
    expect((await run(dir, 'scripts/build.mjs')).code).toBe(0);
    expect(await stalenessOf(dir)).toBeUndefined();

    const source = path.join(dir, 'src', 'server', 'process.ts');
    writeFileSync(source, `${readFileSync(source, 'utf8')}// changed\n`);
    const longAgo = new Date('2026-01-01T00:00:00Z');
    for (const each of [source, path.join(dir, 'src', 'server'), path.join(dir, 'src')]) utimesSync(each, longAgo, longAgo);
    expect(await stalenessOf(dir)).toBe('src/ changed since dist/ was built');

    // A file touched but not changed needs no build.
    writeFileSync(source, readFileSync(path.join(ROOT, 'src', 'server', 'process.ts')));
    expect(await stalenessOf(dir)).toBeUndefined();

    writeFileSync(path.join(dir, 'src', 'added.ts'), 'export {};\n');
    utimesSync(path.join(dir, 'src'), longAgo, longAgo);
    expect(await stalenessOf(dir)).toBe('src/ changed since dist/ was built');
    rmSync(path.join(dir, 'src', 'added.ts'));

    const config = path.join(dir, 'tsconfig.build.json');
    writeFileSync(config, `${readFileSync(config, 'utf8')}\n`);
    utimesSync(config, longAgo, longAgo);
    expect(await stalenessOf(dir)).toBe('tsconfig.build.json changed since dist/ was built');
  });
});

describe('a failed build (scripts/build.mjs)', () => {
  /** `node scripts/build.mjs` in `dir`; `killAfter` sends SIGTERM once tsc has begun. */
  async function runBuild(dir: string, killAfter?: (child: ChildProcess) => Promise<void>): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, ['scripts/build.mjs'], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (killAfter) await killAfter(child);
    return { code: await exited, stderr };
  }

  function leftBeside(dir: string): string[] {
    return readdirSync(dir).filter((each) => each.startsWith('dist.'));
  }

  // Three whole tsc runs: on a loaded 2-core machine one took 40 to 70 s, and three passed 120 s.
  it('keeps the last dist/ when tsc finds a type error, and leaves nothing beside it', { timeout: 300_000 }, async () => {
    const dir = scratchCheckout();
    dirs.push(dir);
    expect((await runBuild(dir)).code).toBe(0);
    const main = readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8');
    const info = readFileSync(path.join(dir, 'dist', 'build-info.json'), 'utf8');

    writeFileSync(path.join(dir, 'src', 'broken.ts'), 'export const broken: number = "not a number";\n');
    const failed = await runBuild(dir);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('src/broken.ts');
    expect(readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8')).toBe(main);
    expect(readFileSync(path.join(dir, 'dist', 'build-info.json'), 'utf8')).toBe(info);
    expect(leftBeside(dir)).toEqual([]);
    expect(existsSync(path.join(dir, LOCK))).toBe(false);

    // Fixed, it builds in dist/'s place: no output of the last build left, the new record in.
    rmSync(path.join(dir, 'src', 'broken.ts'));
    writeFileSync(path.join(dir, 'src', 'added.ts'), 'export const added = 1;\n');
    expect((await runBuild(dir)).code).toBe(0);
    expect(existsSync(path.join(dir, 'dist', 'added.js'))).toBe(true);
    expect(existsSync(path.join(dir, 'dist', 'build-info.json'))).toBe(true);
    expect(leftBeside(dir)).toEqual([]);
  });

  /** A scratch checkout built once and then changed (a source added): `main` is the dist/main.js built. */
  async function builtThenChanged(): Promise<{ dir: string; main: string }> {
    const dir = scratchCheckout();
    dirs.push(dir);
    expect((await runBuild(dir)).code).toBe(0);
    const main = readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8');
    writeFileSync(path.join(dir, 'src', 'added.ts'), 'export const added = 1;\n');
    return { dir, main };
  }

  it('keeps the last dist/ when the build is stopped by SIGTERM', { timeout: 120_000 }, async () => {
    const { dir, main } = await builtThenChanged();
    const stopped = await runBuild(dir, async (child) => {
      // Once the build holds the lock, tsc is about to run or running.
      while (!existsSync(path.join(dir, LOCK))) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill('SIGTERM');
    });
    expect(stopped.code, stopped.stderr).toBe(143);
    expect(readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8')).toBe(main);
    expect(existsSync(path.join(dir, 'dist', 'added.js'))).toBe(false);
    expect(leftBeside(dir)).toEqual([]);
  });

  it('npm start stopped by SIGTERM while it builds exits 0 with one line, as a process stopped while starting does, and keeps the last dist/', { timeout: 120_000 }, async () => {
    const { dir, main } = await builtThenChanged();
    const started = start(dir);
    children.push(started.child);
    // Once it says it builds, tsc is about to run or running.
    while (!started.output.stderr().includes('building (')) {
      expect(started.child.exitCode, started.output.stderr()).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    started.child.kill('SIGTERM');
    await started.output.exited;
    expect(started.child.exitCode, started.output.stderr()).toBe(0);
    expect(started.output.stderr()).toContain('execution-gateway: stopped by SIGTERM while building, before it started\n');
    expect(readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8')).toBe(main);
    expect(existsSync(path.join(dir, 'dist', 'added.js'))).toBe(false);
    expect(existsSync(path.join(dir, LOCK))).toBe(false);
  });
});
