/**
 * CPU time and memory of processes, read from /proc (Linux only).
 *
 * CPU of a process tree is exact across children that come and go: a parent's
 * cutime/cstime holds the CPU of every child it has reaped, so "the parent's own
 * and reaped time + each live descendant's own time" only ever grows. That is
 * how the postmaster accounts for backends that connect and leave during a run.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux build this runs on (getconf CLK_TCK)

interface Stat {
  ppid: number;
  /** utime + stime, in ticks. */
  own: number;
  /** cutime + cstime: reaped children, in ticks. */
  reaped: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    const f = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined; // exited
  }
}

/** Every live process's parent, in one scan of /proc. */
function parents(): Map<number, number> {
  const m = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s) m.set(Number(entry), s.ppid);
  }
  return m;
}

/** pid and all its live descendants. */
export function processTree(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [child, parent] of parents()) byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of byParent.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/**
 * CPU milliseconds (user + system) used so far by the trees rooted at `roots`,
 * including children they have reaped. Take it before and after a run: the
 * difference is the run's CPU.
 */
export function treeCpuMs(...roots: number[]): number {
  let ticks = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const s = readStat(pid);
      if (!s) continue;
      ticks += s.own;
      // Only the root's reaped time: a live descendant's reaped time is also in its own
      // parent's count once that parent is reaped, so counting every level is exact
      // only for processes that never exit. Postgres backends and Baton servers don't fork.
      if (pid === root) ticks += s.reaped;
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** This process's own CPU milliseconds (user + system). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** VmRSS of one process, in KiB. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** The process of a tree that runs `needle` in its command line (e.g. the node behind a tsx wrapper). */
export function findInTree(root: number, needle: string): number | undefined {
  for (const pid of processTree(root)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(needle) && !cmd.includes(".bin/tsx")) return pid;
    } catch {
      // exited
    }
  }
  return undefined;
}

/** The 1-minute load average, for the report. */
export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}
