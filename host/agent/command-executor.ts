// The built-in command executor (Mesos' command executor): runs `TaskInfo.command` as a child
// process group in the task's sandbox and turns its life into task states.
//
// What must stay true:
// - The task's processes outlive the agent: they run detached in their own process group with
//   stdio going to files (never pipes to the agent), so an agent restart or crash leaves them be.
// - The command runs under a tiny `sh` wrapper that records the exit status in a file outside the
//   sandbox (the task cannot tamper with it); a restarted agent re-attaches by pid/pgid (checked
//   against the recorded start time and boot id) and, once the group leader is gone, reads the
//   file. Nothing but this file and the checkpoint carries state across restarts.
// - The wrapper traps TERM/INT/HUP with a no-op handler: caught (not ignored) signals are reset to
//   their defaults in the command, so the command dies from SIGTERM while the wrapper survives to
//   record the status. SIGKILL takes the wrapper too; then the agent's own kill intent decides.
// - Exactly one terminal state is reported per launch, after TASK_STARTING and TASK_RUNNING.
// - Signals go to the whole process group; once the command has ended, stragglers left in the
//   group are killed (Mesos destroys the container when the command executor exits).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../common/log.ts';
import type { Resource, TaskInfo, TaskState } from '../protocol/messages.ts';
import type { KillIntent, ProcessCheckpoint } from './checkpoint.ts';
import {
  bootId, cgroupOutcome, createTaskCgroup, formatMb, isSameProcessAlive, readProcStat, removeTaskCgroup, type RssMonitor,
} from './memory-limit.ts';

/** How often a re-attached task (not our child any more) is checked for exit. */
const RECOVERED_POLL_MS = 250;
/** At most this many PORTn variables; a task holding a huge range must not blow the env (E2BIG). */
const MAX_PORT_VARS = 256;

const WRAPPER = [
  'exit_file=$1; cg_procs=$2; shift 2',
  'if [ -n "$cg_procs" ]; then echo $$ > "$cg_procs" || exit 125; fi',
  "trap ':' TERM INT HUP",
  '"$@"',
  's=$?',
  'printf \'%d\\n\' "$s" > "$exit_file.tmp" && mv -f "$exit_file.tmp" "$exit_file"',
  'exit "$s"',
].join('\n');

export const sandboxDir = (workDir: string, frameworkId: string, taskId: string): string =>
  join(workDir, 'sandboxes', frameworkId, taskId);
/** Agent-private per-task files (the exit status); outside the sandbox the task can write. */
export const metaDir = (workDir: string, frameworkId: string, taskId: string): string =>
  join(workDir, 'meta', 'tasks', frameworkId, taskId);

export interface CommandTaskSpec {
  workDir: string;
  frameworkId: string;
  agentId: string;
  hostname: string;
  task: TaskInfo;
  /** Used when the task has no kill_policy. */
  defaultGracePeriodMs: number;
  /** The framework understands TASK_KILLING (capability TASK_KILLING_STATE). */
  taskKillingState: boolean;
}

export interface ExecutorHooks {
  /** Persists process facts and kill intents; resolves once they are on disk. */
  checkpoint(process: ProcessCheckpoint, kill: KillIntent | undefined): Promise<void>;
  /** Reports a state change (the agent turns it into a reliable status update). */
  status(s: { state: TaskState; message?: string; reason?: string }): void;
}

export interface ExecutorEnv {
  rss: RssMonitor;
  /** A cgroup2 directory usable for per-task memory cgroups, or null (RSS sampling). */
  cgroupBase: string | null;
  logger: Logger;
  /** The agent's own environment, inherited by tasks. */
  baseEnv?: NodeJS.ProcessEnv;
}

/** The task's memory limit in bytes: its `mem` scalar resources (MB), or undefined. */
export function memoryLimitBytes(resources: Resource[]): number | undefined {
  const mb = resources.filter((r) => r.name === 'mem' && r.type === 'SCALAR').reduce((s, r) => s + (r.scalar?.value ?? 0), 0);
  return mb > 0 ? mb * 1024 * 1024 : undefined;
}

/** The task's ports in resource order, expanded from its `ports` ranges. */
export function taskPorts(resources: Resource[]): number[] {
  const ports: number[] = [];
  for (const r of resources) {
    if (r.name !== 'ports' || r.type !== 'RANGES') continue;
    for (const range of r.ranges?.range ?? []) {
      for (let p = range.begin; p <= range.end && ports.length < MAX_PORT_VARS; p++) ports.push(p);
    }
  }
  return ports;
}

/** The command's environment: the agent's, then Mesos' variables, then the task's own (which win). */
export function taskEnvironment(spec: CommandTaskSpec, sandbox: string, baseEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  // The cluster secret authenticates agents and frameworks; a task must never inherit it.
  delete env.AGORA_SECRET;
  const taskId = spec.task.task_id.value;
  Object.assign(env, {
    MESOS_TASK_ID: taskId,
    MESOS_EXECUTOR_ID: taskId, // the command executor's ID is the task's, as in Mesos
    MESOS_FRAMEWORK_ID: spec.frameworkId,
    MESOS_AGENT_ID: spec.agentId,
    MESOS_SLAVE_ID: spec.agentId,
    MESOS_SANDBOX: sandbox,
    MESOS_DIRECTORY: sandbox,
    AGORA_TASK_ID: taskId,
    AGORA_TASK_NAME: spec.task.name,
    AGORA_FRAMEWORK_ID: spec.frameworkId,
    AGORA_AGENT_ID: spec.agentId,
    AGORA_SANDBOX: sandbox,
    HOST: spec.hostname,
  });
  const ports = taskPorts(spec.task.resources);
  ports.forEach((p, i) => (env[`PORT${i}`] = String(p)));
  if (ports.length > 0) {
    env.PORT = String(ports[0]);
    env.PORTS = ports.join(',');
  }
  for (const v of spec.task.command?.environment?.variables ?? []) env[v.name] = v.value;
  return env;
}

/** The argv run inside the wrapper: `sh -c value`, or `value` with arguments (argv[0] is the program). */
function commandArgv(task: TaskInfo): string[] {
  const cmd = task.command!;
  if (cmd.shell) return ['/bin/sh', '-c', cmd.value ?? ''];
  // Mesos passes `arguments` as the whole argv, argv[0] included; sh cannot set a distinct
  // argv[0], so the program is `value` and the rest of `arguments` follows it.
  return [cmd.value ?? '', ...(cmd.arguments ?? []).slice(1)];
}

const signalNames = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

/** The outcome of the wrapper: the recorded exit status, or what we saw when there was none. */
type Outcome = { status: number } | { signal: string } | { gone: true };

export class CommandExecutor {
  private readonly spec: CommandTaskSpec;
  private readonly hooks: ExecutorHooks;
  private readonly env: ExecutorEnv;
  private readonly log: Logger;
  private proc: ProcessCheckpoint | undefined;
  private kill_: KillIntent | undefined;
  private child: ChildProcess | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private escalation: NodeJS.Timeout | null = null;
  private unwatchMemory: (() => void) | null = null;
  private finished = false;
  private detached = false;
  /** Recovered and found already gone: its group id may have been recycled meanwhile. */
  private goneBeforeRecovery = false;

  private constructor(spec: CommandTaskSpec, hooks: ExecutorHooks, env: ExecutorEnv) {
    this.spec = spec;
    this.hooks = hooks;
    this.env = env;
    this.log = env.logger.child({ taskId: spec.task.task_id.value, frameworkId: spec.frameworkId });
  }

  get sandbox(): string {
    return sandboxDir(this.spec.workDir, this.spec.frameworkId, this.spec.task.task_id.value);
  }

  private get exitFile(): string {
    return join(metaDir(this.spec.workDir, this.spec.frameworkId, this.spec.task.task_id.value), 'exit_status');
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Starts the command. Reports TASK_STARTING, TASK_RUNNING once spawned and checkpointed, then a terminal state. */
  static async launch(spec: CommandTaskSpec, hooks: ExecutorHooks, env: ExecutorEnv): Promise<CommandExecutor> {
    const ex = new CommandExecutor(spec, hooks, env);
    await ex.start();
    return ex;
  }

  /** Re-attaches to a task started by an earlier incarnation of the agent. */
  static recover(spec: CommandTaskSpec, hooks: ExecutorHooks, env: ExecutorEnv, proc: ProcessCheckpoint, kill: KillIntent | undefined): CommandExecutor {
    const ex = new CommandExecutor(spec, hooks, env);
    ex.proc = proc;
    ex.kill_ = kill;
    ex.watchMemory();
    ex.poll();
    if (kill) void ex.signalForIntent();
    return ex;
  }

  private async start(): Promise<void> {
    const { task } = this.spec;
    this.hooks.status({ state: 'TASK_STARTING' });
    let child: ChildProcess;
    let exit!: Promise<[number | null, NodeJS.Signals | null]>;
    let cgroup: string | undefined;
    try {
      const sandbox = this.sandbox;
      await mkdir(sandbox, { recursive: true });
      await mkdir(join(this.exitFile, '..'), { recursive: true });
      await rm(this.exitFile, { force: true }); // a status left by an earlier task with this ID
      const limit = memoryLimitBytes(task.resources);
      if (this.env.cgroupBase) {
        cgroup = await createTaskCgroup(this.env.cgroupBase, cgroupName(this.spec), limit);
      }
      const stdout = await open(join(sandbox, 'stdout'), 'a');
      const stderr = await open(join(sandbox, 'stderr'), 'a');
      try {
        child = spawn('/bin/sh', ['-c', WRAPPER, 'agora-task', this.exitFile, cgroup ? join(cgroup, 'cgroup.procs') : '', ...commandArgv(task)], {
          cwd: sandbox,
          env: taskEnvironment(this.spec, sandbox, this.env.baseEnv),
          detached: true, // own process group (pgid = pid) and session: survives the agent
          stdio: ['ignore', stdout.fd, stderr.fd],
        });
        // Listen at once: a quick command can exit while the files below are being closed, and
        // an 'exit' emitted with no listener is gone for good.
        exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
      } finally {
        await stdout.close();
        await stderr.close();
      }
      if (child.pid === undefined) {
        const [err] = (await once(child, 'error')) as [Error];
        throw err;
      }
    } catch (err) {
      this.finished = true;
      if (cgroup) await removeTaskCgroup(cgroup);
      this.hooks.status({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `Failed to launch the command: ${(err as Error).message}` });
      return;
    }
    this.child = child;
    const pid = child.pid!;
    // Act on the exit only after TASK_RUNNING has been reported (the terminal state comes last).
    let running!: () => void;
    const reported = new Promise<void>((r) => (running = r));
    void Promise.all([exit, reported]).then(([[code, signal]]) => this.exited(code, signal));
    child.on('error', (err) => this.log.warn({ err }, 'task process error'));
    const stat = await readProcStat(pid);
    this.proc = { pid, pgid: pid, start_time: stat?.startTime, boot_id: await bootId(), cgroup };
    try {
      await this.hooks.checkpoint(this.proc, undefined);
    } catch (err) {
      this.log.error({ err }, 'cannot checkpoint the task process; it will not be recovered after an agent restart');
    }
    this.hooks.status({ state: 'TASK_RUNNING' });
    this.watchMemory();
    running();
  }

  /** Kills the task: SIGTERM to its group, SIGKILL after the grace period. */
  async kill(gracePeriodMs?: number): Promise<void> {
    if (this.finished || !this.proc) return;
    if (this.kill_) return; // already being killed (or killed for exceeding its memory)
    const grace = gracePeriodMs ?? this.spec.defaultGracePeriodMs;
    this.kill_ = { cause: 'requested', grace_period_ms: grace };
    await this.persistIntent();
    if (this.finished) return;
    if (this.spec.taskKillingState) this.hooks.status({ state: 'TASK_KILLING' });
    await this.signalForIntent();
  }

  /** Stops watching the task without touching it (agent shutdown); its process keeps running. */
  detach(): void {
    this.detached = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.escalation) clearTimeout(this.escalation);
    this.unwatchMemory?.();
    if (this.child) {
      this.child.removeAllListeners('exit');
      this.child.on('error', () => undefined);
      this.child.unref();
    }
  }

  private async persistIntent(): Promise<void> {
    try {
      await this.hooks.checkpoint(this.proc!, this.kill_);
    } catch (err) {
      this.log.error({ err }, 'cannot checkpoint the kill intent');
    }
  }

  /** Sends the signals the current kill intent calls for. */
  private async signalForIntent(): Promise<void> {
    const intent = this.kill_;
    if (!intent || this.finished || this.detached) return;
    if (!this.child && !(await this.leaderAlive())) return; // recovered and already gone: poll() reports it
    if (intent.cause === 'memory') {
      this.signalGroup('SIGKILL');
      return;
    }
    this.signalGroup('SIGTERM');
    if (this.escalation) clearTimeout(this.escalation);
    this.escalation = setTimeout(() => {
      this.escalation = null;
      if (!this.finished && !this.detached) {
        this.log.info({ gracePeriodMs: intent.grace_period_ms }, 'grace period over; sending SIGKILL');
        this.signalGroup('SIGKILL');
      }
    }, intent.grace_period_ms ?? this.spec.defaultGracePeriodMs);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (!this.proc) return;
    try {
      process.kill(-this.proc.pgid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') this.log.warn({ err, signal }, 'cannot signal the task');
    }
  }

  private leaderAlive(): Promise<boolean> {
    const p = this.proc!;
    return isSameProcessAlive(p.pid, p.start_time, p.boot_id);
  }

  private watchMemory(): void {
    const limit = memoryLimitBytes(this.spec.task.resources);
    if (limit === undefined || !this.proc || this.proc.cgroup) return; // the kernel enforces cgroup limits
    this.unwatchMemory = this.env.rss.watch(this.proc.pgid, limit, (usage) => {
      if (this.finished || this.detached || this.kill_?.cause === 'memory') return;
      const message = `Memory limit exceeded: the task used ${formatMb(usage)}, its limit is ${formatMb(limit)}`;
      this.log.warn({ usage, limit }, 'task exceeded its memory limit; killing it');
      this.kill_ = { cause: 'memory', message };
      // Kill first, then persist: the limit must hold even if the disk is slow.
      this.signalGroup('SIGKILL');
      void this.persistIntent();
    });
  }

  /** Re-attached tasks are not our children: poll the group leader until it is gone. */
  private poll(first = true): void {
    if (this.finished || this.detached) return;
    void this.leaderAlive().then(async (alive) => {
      if (this.finished || this.detached) return;
      if (!alive && first) this.goneBeforeRecovery = true;
      if (alive) {
        this.pollTimer = setTimeout(() => this.poll(false), RECOVERED_POLL_MS);
        return;
      }
      const status = await this.readExitStatus();
      await this.finish(status === undefined ? { gone: true } : { status });
    });
  }

  private async exited(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.detached) return;
    const status = await this.readExitStatus();
    if (status !== undefined) await this.finish({ status });
    else if (signal) await this.finish({ signal });
    else await this.finish({ status: code ?? 0 });
  }

  private async readExitStatus(): Promise<number | undefined> {
    try {
      const n = Number.parseInt(await readFile(this.exitFile, 'utf8'), 10);
      return Number.isInteger(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  private async finish(outcome: Outcome): Promise<void> {
    if (this.finished || this.detached) return;
    this.finished = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.escalation) clearTimeout(this.escalation);
    this.unwatchMemory?.();
    // The command is over: whatever it left behind in its group goes too. The leader exited
    // moments ago, so its group id is still ours (a pgid is not reused while members remain).
    // A task that ended while no agent was watching is left alone: that id may be anyone's now.
    if (!this.goneBeforeRecovery) this.signalGroup('SIGKILL');
    let oom: { oomKilled: boolean; peakBytes?: number } | undefined;
    if (this.proc?.cgroup) {
      oom = await cgroupOutcome(this.proc.cgroup);
      await removeTaskCgroup(this.proc.cgroup);
    }
    this.hooks.status(this.terminalStatus(outcome, oom));
  }

  private terminalStatus(outcome: Outcome, oom?: { oomKilled: boolean; peakBytes?: number }): { state: TaskState; message?: string; reason?: string } {
    const limit = memoryLimitBytes(this.spec.task.resources);
    if (this.kill_?.cause === 'memory' || oom?.oomKilled) {
      const message = this.kill_?.message
        ?? `Memory limit exceeded: the task was OOM-killed${oom?.peakBytes ? ` at ${formatMb(oom.peakBytes)}` : ''}, its limit is ${formatMb(limit ?? 0)}`;
      return { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message };
    }
    const description = describe(outcome);
    if (this.kill_?.cause === 'requested') return { state: 'TASK_KILLED', message: description ?? 'Task killed' };
    if ('gone' in outcome) {
      return {
        state: 'TASK_FAILED',
        reason: 'REASON_EXECUTOR_TERMINATED',
        message: 'The agent restarted and the task\'s process was gone without recording an exit status',
      };
    }
    if ('status' in outcome && outcome.status === 0) return { state: 'TASK_FINISHED', message: description };
    return { state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: description };
  }
}

/**
 * A shell reports death by signal N as status 128+N; we read it back that way (as shells and
 * Mesos' users do), so an explicit `exit 137` is described as SIGKILL — the one ambiguity left.
 */
function describe(outcome: Outcome): string | undefined {
  if ('signal' in outcome) return `Command terminated with signal ${outcome.signal}`;
  if ('status' in outcome) {
    const sig = outcome.status > 128 ? signalNames.get(outcome.status - 128) : undefined;
    return sig ? `Command terminated with signal ${sig}` : `Command exited with status ${outcome.status}`;
  }
  return undefined;
}

/** cgroup directory names must be short and path-safe; IDs are validated but may be 256 characters. */
function cgroupName(spec: CommandTaskSpec): string {
  const digest = createHash('sha256').update(`${spec.agentId}/${spec.frameworkId}/${spec.task.task_id.value}`).digest('hex');
  return `agora-task-${digest.slice(0, 32)}`;
}
