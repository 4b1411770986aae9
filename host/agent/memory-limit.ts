// Memory limits for command tasks, and the /proc facts the executor needs about processes.
//
// Two enforcement paths, chosen once per agent:
// - cgroup v2 (what Mesos' cgroups isolator does): each task gets its own cgroup with memory.max;
//   the kernel stops the task at the limit and memory.events tells us it was OOM-killed. Only used
//   when a writable cgroup2 hierarchy with the memory controller delegated to us is found; any
//   doubt means "not available" (we fall back silently rather than half-enforce).
// - RSS sampling (the fallback, and the common case on cgroup v1 machines): every interval the
//   whole process table is read once, RSS is summed per process group, and a group over its limit
//   is reported. A process that leaves its group (setsid) escapes this; the cgroup path has no
//   such hole.
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/log.ts';

// ---------------------------------------------------------------------------------------------
// /proc helpers.

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  /** Field 22, clock ticks since boot: with the pid it identifies one process incarnation. */
  startTime: string;
}

/** Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and ')', so split after the last ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number.parseInt(text.slice(0, text.indexOf(' ')), 10);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  if (rest.length < 20 || !Number.isFinite(pid)) return null;
  return { pid, state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]), startTime: rest[19] };
}

export async function readProcStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

let cachedBootId: string | undefined | null = null;
/** The kernel's boot id; undefined where /proc does not provide it. */
export async function bootId(): Promise<string | undefined> {
  if (cachedBootId === null) {
    cachedBootId = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim(), () => undefined);
  }
  return cachedBootId;
}

/**
 * Whether the process `pid` is still the one we started: it exists, is not a zombie, and (when
 * recorded) has the same start time and boot id. Guards signals against recycled pids.
 */
export async function isSameProcessAlive(pid: number, startTime?: string, boot?: string): Promise<boolean> {
  if (boot !== undefined && (await bootId()) !== undefined && boot !== (await bootId())) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await readProcStat(pid);
  if (!stat) return process.platform !== 'linux'; // without /proc, kill(0) is all we know
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** Resident set size of one process in bytes (VmRSS), or 0 when it is gone. */
async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Total RSS (bytes) per process group, for the groups asked about; one pass over /proc. */
export async function groupRss(pgids: ReadonlySet<number>): Promise<Map<number, number>> {
  const totals = new Map<number, number>();
  for (const g of pgids) totals.set(g, 0);
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return totals;
  }
  await Promise.all(
    entries.map(async (name) => {
      if (!/^\d+$/.test(name)) return;
      const stat = await readProcStat(Number(name));
      if (!stat || !pgids.has(stat.pgrp)) return;
      const rss = await rssBytes(stat.pid);
      totals.set(stat.pgrp, (totals.get(stat.pgrp) ?? 0) + rss);
    }),
  );
  return totals;
}

export const formatMb = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

// ---------------------------------------------------------------------------------------------
// RSS sampling.

interface Watch {
  limitBytes: number;
  onExceeded: (usageBytes: number) => void;
}

/** Samples the RSS of watched process groups; one timer and one /proc pass for all of them. */
export class RssMonitor {
  private readonly watches = new Map<number, Watch>();
  private timer: NodeJS.Timeout | null = null;
  private scanning = false;
  private readonly intervalMs: number;
  private readonly logger: Logger | undefined;

  constructor(intervalMs: number, logger?: Logger) {
    this.intervalMs = intervalMs;
    this.logger = logger;
  }

  /** Reports (once) when the group's total RSS exceeds `limitBytes`. Returns the unwatch function. */
  watch(pgid: number, limitBytes: number, onExceeded: (usageBytes: number) => void): () => void {
    const w: Watch = { limitBytes, onExceeded };
    this.watches.set(pgid, w);
    if (!this.timer) this.timer = setInterval(() => void this.sample(), this.intervalMs);
    return () => {
      if (this.watches.get(pgid) === w) this.watches.delete(pgid);
      if (this.watches.size === 0) this.stopTimer();
    };
  }

  close(): void {
    this.watches.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async sample(): Promise<void> {
    if (this.scanning || this.watches.size === 0) return; // a slow pass is never stacked
    this.scanning = true;
    try {
      const totals = await groupRss(new Set(this.watches.keys()));
      for (const [pgid, usage] of totals) {
        const w = this.watches.get(pgid);
        if (!w || usage <= w.limitBytes) continue;
        this.watches.delete(pgid);
        try {
          w.onExceeded(usage);
        } catch (err) {
          this.logger?.error({ err, pgid }, 'memory limit handler failed');
        }
      }
      if (this.watches.size === 0) this.stopTimer();
    } catch (err) {
      this.logger?.warn({ err }, 'sampling task memory failed');
    } finally {
      this.scanning = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// cgroup v2.

export interface CgroupProbeOptions {
  /** Test seams; the defaults read the running system. */
  procSelfCgroup?: string;
  mountinfo?: string;
  logger?: Logger;
}

/**
 * Finds a cgroup2 directory under which this agent can create per-task cgroups with the memory
 * controller, or null. Requirements, all checked: the process is in a cgroup2 hierarchy ("0::/x"),
 * that hierarchy is mounted, `memory` is in its cgroup.controllers and enabled in its
 * cgroup.subtree_control (enabling it ourselves if permitted), and a probe child gets memory.max.
 * Any failure (EACCES, EBUSY from the no-internal-processes rule, missing files) means null.
 */
export async function probeCgroup2(opts: CgroupProbeOptions = {}): Promise<string | null> {
  try {
    const self = await readFile(opts.procSelfCgroup ?? '/proc/self/cgroup', 'utf8');
    const line = self.split('\n').find((l) => l.startsWith('0::'));
    if (!line) return null;
    const relative = line.slice(3).trim();
    const mounts = await readFile(opts.mountinfo ?? '/proc/self/mountinfo', 'utf8');
    // mountinfo: "id parent major:minor root mountpoint options ... - fstype source superoptions"
    const mount = mounts
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[f.indexOf('-') + 1] === 'cgroup2' && f[3] === '/');
    if (!mount) return null;
    const base = join(mount[4], relative);
    const controllers = (await readFile(join(base, 'cgroup.controllers'), 'utf8')).split(/\s+/);
    if (!controllers.includes('memory')) return null;
    const subtree = join(base, 'cgroup.subtree_control');
    if (!(await readFile(subtree, 'utf8')).split(/\s+/).includes('memory')) {
      await writeFile(subtree, '+memory');
      if (!(await readFile(subtree, 'utf8')).split(/\s+/).includes('memory')) return null;
    }
    const probe = join(base, `agora-probe-${process.pid}`);
    await mkdir(probe);
    try {
      await readFile(join(probe, 'memory.max'), 'utf8');
    } finally {
      await rmdir(probe).catch(() => undefined);
    }
    return base;
  } catch (err) {
    opts.logger?.debug({ err }, 'cgroup v2 memory controller not usable; using RSS sampling');
    return null;
  }
}

/** Creates the task's cgroup with its memory limit; the wrapper moves itself in before the command runs. */
export async function createTaskCgroup(base: string, name: string, limitBytes: number | undefined): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  if (limitBytes !== undefined) {
    await writeFile(join(dir, 'memory.max'), String(Math.floor(limitBytes)));
    await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined); // swap accounting may be off
  }
  // Kill the whole cgroup on OOM, not one process, so a task never runs on half-killed.
  await writeFile(join(dir, 'memory.oom.group'), '1').catch(() => undefined);
  return dir;
}

/** After the task ended: was it OOM-killed, and how much memory did it use at most? */
export async function cgroupOutcome(dir: string): Promise<{ oomKilled: boolean; peakBytes?: number }> {
  const events = await readFile(join(dir, 'memory.events'), 'utf8').catch(() => '');
  const m = /^oom_kill (\d+)/m.exec(events);
  const peak = await readFile(join(dir, 'memory.peak'), 'utf8').then((s) => Number(s.trim()), () => undefined);
  return { oomKilled: m !== null && Number(m[1]) > 0, peakBytes: Number.isFinite(peak) ? peak : undefined };
}

/** Kills whatever is left in the cgroup and removes it; best effort. */
export async function removeTaskCgroup(dir: string): Promise<void> {
  await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => undefined);
  for (let i = 0; i < 20; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 50)); // EBUSY until the killed processes are reaped
    }
  }
}
