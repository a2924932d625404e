/** What a child process (a gateway started as deployed) writes, as it arrives, and its pino log lines. */
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';

/** One line of pino's JSON log. */
export type LogLine = Record<string, unknown> & { msg?: string; pid?: number; time?: number };

export interface ProcessOutput {
  stdout(): string;
  stderr(): string;
  /** Every whole line of stdout parsed as JSON (the last may still be arriving); a line that is not JSON throws, unless `skipNonJson`. */
  lines(): LogLine[];
  /** Resolves with the exit code and signal; never an unhandled rejection when nobody awaits it. */
  exited: Promise<[code: number | null, signal: NodeJS.Signals | null]>;
}

/** Starts collecting `child`'s output; call it right after spawning, before any output can be lost. */
export function captureOutput(child: ChildProcess, { skipNonJson = false } = {}): ProcessOutput {
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  exited.catch(() => undefined);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = (): LogLine[] =>
    stdout
      .split('\n')
      .slice(0, -1)
      .filter((line) => (skipNonJson ? line.startsWith('{') : line !== ''))
      .map((line) => JSON.parse(line) as LogLine);
  return { stdout: () => stdout, stderr: () => stderr, lines, exited };
}

/** Whether `pid` is still a process: a worker killed stays one (a zombie) until its primary reaps it and sees its exit. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves once the gateway `child` logged `execution-gateway listening`; rejects, with what it wrote to stderr, when it
 * exited first or `withinMs` passed.
 */
export async function untilListening(child: ChildProcess, output: ProcessOutput, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!output.lines().some((line) => line.msg === 'execution-gateway listening')) {
    if (child.exitCode !== null) throw new Error(`the gateway exited ${child.exitCode} before it listened: ${output.stderr()}`);
    if (Date.now() > deadline) throw new Error(`the gateway did not listen within ${withinMs} ms: ${output.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * What the gateway writes as it starts: `src/main.ts` spawned with `env` (and PATH), after `nodeFlags` and with
 * `args` after it, in `cwd` (the repository by default), until it listens; then stopped (SIGTERM) and waited for.
 * Rejects as `untilListening` does.
 */
export async function outputOfStart(
  env: Record<string, string | undefined>,
  { nodeFlags = [] as string[], args = [] as string[], cwd = undefined as string | undefined, withinMs = 30_000 } = {},
): Promise<ProcessOutput> {
  const root = new URL('../..', import.meta.url).pathname;
  // tsx and main.ts by path: from another `cwd` (a folder with a .env) neither resolves by name.
  const child = spawn(process.execPath, [...nodeFlags, '--import', import.meta.resolve('tsx'), `${root}src/main.ts`, ...args], {
    cwd: cwd ?? root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child, { skipNonJson: true });
  try {
    await untilListening(child, output, withinMs);
  } finally {
    child.kill('SIGTERM');
    await output.exited;
  }
  return output;
}
