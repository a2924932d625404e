/**
 * Linux /proc readings of the processes under test: the process tree of a
 * child (a cluster primary and its workers), resident memory (VmRSS) sampled
 * while a scenario runs, and CPU time, to wait until a process has gone idle
 * or to split it by thread.
 */
import { readdirSync, readFileSync } from 'node:fs';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const tasks = (() => {
    try {
      return readdirSync(`/proc/${pid}/task`);
    } catch {
      return [];
    }
  })();
  const children: number[] = [];
  let supported = false;
  for (const task of tasks) {
    const text = read(`/proc/${pid}/task/${task}/children`);
    if (text === undefined) continue;
    supported = true;
    for (const each of text.trim().split(/\s+/)) if (each) children.push(Number(each));
  }
  if (supported) return children;
  // Kernels without /proc/<pid>/task/<tid>/children: scan every process's parent.
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : NaN;
    if (ppid === pid) found.push(Number(entry));
  }
  return found;
}

/** The pid and all its descendants that are still alive. */
export function processTree(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift()!;
    if (read(`/proc/${next}/stat`) === undefined) continue;
    all.push(next);
    queue.push(...childrenOf(next));
  }
  return all;
}

/** Resident set of one process in KiB (VmRSS), or 0 when it is gone. */
export function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(read(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) : 0;
}

/** User and system CPU time in a /proc `stat` line (a process's or a thread's), in clock ticks. */
function userSystem(stat: string): [user: number, system: number] {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(3) ppid(4) … utime(14) stime(15); index = field - 3.
  return [Number(fields[11]), Number(fields[12])];
}

/** User + system CPU time of one process, in clock ticks (usually 10 ms). */
export function cpuTicks(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  const [user, system] = userSystem(stat);
  return user + system;
}

export interface RssPeak {
  /** Highest sum of VmRSS over the tree, MiB. */
  peakMiB: number;
  /** Highest VmRSS of any one process of the tree, MiB. */
  peakProcessMiB: number;
  /** Most processes seen in the tree at once. */
  processes: number;
  samples: number;
}

function comm(pid: number): string {
  return (read(`/proc/${pid}/comm`) ?? '').trim();
}

/**
 * Polls VmRSS of a process tree every `intervalMs` until stopped. Only processes
 * running the same program as the root count (the node processes of a cluster,
 * not helpers such as tsx's esbuild service, which a production build does not have).
 */
export function sampleRss(pid: number, intervalMs = 50): { stop(): RssPeak } {
  let peakKb = 0;
  let peakProcessKb = 0;
  let processes = 0;
  let samples = 0;
  const program = comm(pid);
  const members = () => processTree(pid).filter((each) => comm(each) === program);
  let tree = members();
  let ticks = 0;
  const poll = () => {
    // The tree changes rarely (workers start once); refresh it every 20 polls.
    if (ticks++ % 20 === 0) tree = members();
    let sum = 0;
    for (const each of tree) {
      const kb = rssKb(each);
      sum += kb;
      peakProcessKb = Math.max(peakProcessKb, kb);
    }
    peakKb = Math.max(peakKb, sum);
    processes = Math.max(processes, tree.length);
    samples++;
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      poll();
      return { peakMiB: peakKb / 1024, peakProcessMiB: peakProcessKb / 1024, processes, samples };
    },
  };
}

/**
 * Waits until the process tree uses at most `maxTicks` of CPU per `windowMs`,
 * twice in a row (e.g. after a run stopped mid-flight and the server still works
 * through abandoned requests), or until `timeoutMs`. Returns the time waited.
 */
export async function waitIdle(pid: number, options: { windowMs?: number; maxTicks?: number; timeoutMs?: number } = {}): Promise<number> {
  const windowMs = options.windowMs ?? 200;
  const maxTicks = options.maxTicks ?? 2;
  const started = Date.now();
  const total = () => processTree(pid).reduce((sum, each) => sum + cpuTicks(each), 0);
  let quiet = 0;
  let before = total();
  while (quiet < 2 && Date.now() - started < (options.timeoutMs ?? 30_000)) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = total();
    quiet = now - before <= maxTicks ? quiet + 1 : 0;
    before = now;
  }
  return Date.now() - started;
}

/** CPU time of a process tree split by thread, in clock ticks: each process's main (JavaScript) thread, and the rest (V8's collector and compiler threads, libuv's pool). */
export interface ThreadTicks {
  mainUser: number;
  mainSystem: number;
  otherUser: number;
  otherSystem: number;
}

/** `pid`'s live tree by thread (/proc/<pid>/task/<tid>/stat: utime, stime); a thread's id equals its process's on the main thread. */
export function threadTicks(pid: number): ThreadTicks {
  const ticks: ThreadTicks = { mainUser: 0, mainSystem: 0, otherUser: 0, otherSystem: 0 };
  for (const each of processTree(pid)) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${each}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      const stat = read(`/proc/${each}/task/${task}/stat`);
      if (!stat) continue;
      const [user, system] = userSystem(stat);
      if (Number(task) === each) {
        ticks.mainUser += user;
        ticks.mainSystem += system;
      } else {
        ticks.otherUser += user;
        ticks.otherSystem += system;
      }
    }
  }
  return ticks;
}

/**
 * Busy CPU time in a `/proc/stat` `cpu` line (all cores), in clock ticks: user,
 * nice, system and steal (time the hypervisor gave this machine's cores to other
 * guests: other jobs too). Idle and iowait are not busy. irq and softirq are left
 * out: the kernel's loopback network work for the benchmark's own requests is
 * counted there, as no process's time, so evenly spaced load read as other jobs.
 */
export function busyTicksOf(cpuLine: string): number {
  const [, user = 0, nice = 0, system = 0, , , , , steal = 0] = cpuLine.trim().split(/\s+/).map(Number);
  return user + nice + system + steal;
}

/** busyTicksOf this machine's `/proc/stat`, now. */
export function machineBusyTicks(): number {
  return busyTicksOf(read('/proc/stat')?.split('\n', 1)[0] ?? '');
}

/** CPU time of a process and all its live descendants, in clock ticks. */
export function treeTicks(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + cpuTicks(each), 0);
}

/** Other processes using this much CPU (in cores) during a measured run make its numbers suspect. */
export const FOREIGN_CPU_WARNING = 0.15;

/**
 * CPU used by processes outside `pid`'s tree (other jobs on the machine) between
 * `start()` and `stop()`, in cores (1 = one core fully busy).
 */
export function foreignCpu(pid: number): { stop(): number } {
  const began = performance.now();
  const busy0 = machineBusyTicks();
  const ours0 = treeTicks(pid);
  return {
    stop() {
      const seconds = (performance.now() - began) / 1000;
      const foreignTicks = machineBusyTicks() - busy0 - (treeTicks(pid) - ours0);
      return Math.max(0, foreignTicks / 100 / seconds);
    },
  };
}
