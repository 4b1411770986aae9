// The Agora agent (Mesos' agent, né slave): registers with the master over socket.io `/agent`,
// runs command tasks in sandboxes, delivers their status updates reliably, serves the files API,
// and survives its own restarts without disturbing running tasks.
//
// What must stay true:
// - Every inbound master message is validated (master-link.ts) before a handler here sees it; a
//   bad one is logged and ignored, and a failing handler never takes the agent down.
// - On every (re)connection the agent registers with its persisted ID (if any) and every task it
//   still owns, so a restarted master rebuilds its picture from the agents (the Mesos model).
//   Status updates flow only once that registration has been acknowledged.
// - A task stays in the checkpoint until its terminal update is acknowledged; its sandbox stays.
// - stop() releases everything this process holds (socket, HTTP server, timers, the checkpoint)
//   and leaves tasks running; start() on the same work dir re-attaches to them.
import { networkInterfaces } from 'node:os';
import { rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { createLogger, type Logger } from '../common/log.ts';
import {
  isTerminal, type AgentTask, type Attribute, type KillPolicy, type RegisterAgent, type Resource, type TaskState,
} from '../protocol/messages.ts';
import { openCheckpoint, taskKey, type AgentStore, type TaskRecord } from './checkpoint.ts';
import { CommandExecutor, metaDir, type CommandTaskSpec, type ExecutorHooks } from './command-executor.ts';
import { AgentHttpServer } from './http-server.ts';
import { MasterLink, type Acknowledge, type FrameworkMessage, type KillTask, type RunTask, type ShutdownFramework } from './master-link.ts';
import { RssMonitor, probeCgroup2 } from './memory-limit.ts';
import { StatusUpdateManager } from './status-updates.ts';

export interface AgentOptions {
  masterUrl: string;
  /** Where the HTTP server binds; loopback unless a secret is set. */
  host?: string;
  /** HTTP port; 0 picks a free one. */
  port?: number;
  /** The IP the master should use to reach this agent's HTTP server. */
  advertiseIp?: string;
  workDir: string;
  hostname: string;
  resources: Resource[];
  attributes: Attribute[];
  secret?: string;
  statusUpdateRetryMinMs?: number;
  statusUpdateRetryMaxMs?: number;
  killGracePeriodMs?: number;
  memoryCheckIntervalMs?: number;
  logger?: Logger;
}

export const AGENT_VERSION = '0.1.0';
interface LiveTask {
  /** The persisted record (the very object inside the checkpoint document). */
  record: TaskRecord;
  executor?: CommandExecutor;
  /** Set while the command is being spawned. */
  launching?: Promise<void>;
  /** A kill that arrived while launching; applied once the process exists. */
  pendingKillMs?: number;
}

export class Agent {
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  private readonly tasks = new Map<string, LiveTask>();
  /** Frameworks being shut down: once all their tasks are terminal their updates are dropped. */
  private readonly shuttingDown = new Set<string>();
  private store: AgentStore | null = null;
  private updates: StatusUpdateManager | null = null;
  private http: AgentHttpServer | null = null;
  private link: MasterLink | null = null;
  private rss: RssMonitor | null = null;
  private cgroupBase: string | null = null;
  private address: { ip: string; port: number } | null = null;
  private masterId: string | undefined;
  private stopped = false;

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.log = opts.logger ?? createLogger('agent');
  }

  /** The agent ID assigned by the master (persisted), or undefined before the first registration. */
  get id(): string | undefined {
    return this.store?.data.agent_id;
  }

  get httpAddress(): { ip: string; port: number } {
    if (!this.address) throw new Error('the agent has not started');
    return { ...this.address };
  }

  /** Whether the master has acknowledged this connection's registration. */
  get registered(): boolean {
    return this.link?.registered ?? false;
  }

  async start(): Promise<void> {
    const o = this.opts;
    validateOptions(o);
    const sandboxes = join(o.workDir, 'sandboxes');
    await mkdir(sandboxes, { recursive: true });
    // Bind checks come first: refusing to run must not leave anything half-started.
    const http = new AgentHttpServer({ host: o.host ?? '127.0.0.1', port: o.port ?? 0, sandboxesRoot: sandboxes, secret: o.secret, logger: this.log });
    const store = await openCheckpoint(o.workDir);
    let listening;
    try {
      listening = await http.listen();
    } catch (err) {
      await store.close();
      throw err;
    }
    this.store = store;
    this.http = http;
    this.address = { ip: o.advertiseIp ?? advertisedIp(o.host ?? '127.0.0.1'), port: listening.port };
    this.rss = new RssMonitor(o.memoryCheckIntervalMs ?? 500, this.log);
    this.cgroupBase = await probeCgroup2({ logger: this.log });
    this.log.info({ memoryEnforcement: this.cgroupBase ? `cgroup2 ${this.cgroupBase}` : 'rss sampling' }, 'memory limits');
    this.updates = new StatusUpdateManager({
      store,
      send: (u) => this.link?.sendStatusUpdate(u),
      onTerminalAcknowledged: (fw, task) => this.forget(fw, task),
      retryMinMs: o.statusUpdateRetryMinMs ?? 2_000,
      retryMaxMs: o.statusUpdateRetryMaxMs ?? 60_000,
      logger: this.log,
    });
    if (store.data.agent_id) this.updates.setAgentId(store.data.agent_id);
    this.recoverTasks();
    this.link = new MasterLink({
      masterUrl: o.masterUrl,
      secret: o.secret,
      logger: this.log,
      handlers: {
        registration: () => this.registration(),
        registered: (agentId, masterId) => this.onRegistered(agentId, masterId),
        online: () => this.updates?.resume(),
        disconnected: () => this.updates?.pause(),
        runTask: (m) => this.onRunTask(m),
        killTask: (m) => this.onKillTask(m),
        acknowledge: (m) => this.onAcknowledge(m),
        shutdownFramework: (m) => this.onShutdownFramework(m),
        frameworkMessage: (m) => this.onFrameworkMessage(m),
      },
    });
    this.link.connect();
    this.log.info({ address: this.address, agentId: this.id, tasks: this.tasks.size }, 'agent started');
  }

  /**
   * Kills every task (each with its grace period) and waits until all have reported a terminal
   * state, as a Mesos agent does on SIGUSR1. The terminal updates stay checkpointed for delivery.
   * Call stop() afterwards.
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    await Promise.all([...this.tasks.values()].map((t) => t.launching?.catch(() => undefined)));
    let longestGraceMs = 0;
    for (const live of this.tasks.values()) longestGraceMs = Math.max(longestGraceMs, this.kill(live));
    this.log.info({ tasks: this.tasks.size }, 'agent shutting down: killing all tasks');
    // The grace period plus a margin for SIGKILL and reaping; a task that still has not ended is
    // left to the next start's recovery rather than blocking the shutdown forever.
    const deadline = Date.now() + longestGraceMs + 5_000;
    while (Date.now() < deadline && [...this.tasks.values()].some((t) => !isTerminal(t.record.state))) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.link?.close();
    this.updates?.close();
    // Launches in flight finish spawning (their processes must be tracked), then everything detaches.
    await Promise.all([...this.tasks.values()].map((t) => t.launching?.catch(() => undefined)));
    for (const t of this.tasks.values()) t.executor?.detach();
    this.rss?.close();
    await this.http?.close();
    await this.store?.close();
    this.log.info('agent stopped; its tasks keep running');
  }

  // ---------------------------------------------------------------------------------------------
  // Master link.

  private registration(): RegisterAgent {
    const o = this.opts;
    const agentId = this.store!.data.agent_id;
    return {
      agent_id: agentId ? { value: agentId } : undefined,
      hostname: o.hostname,
      address: this.httpAddress,
      resources: o.resources,
      attributes: o.attributes,
      tasks: [...this.tasks.values()].map(({ record: r }): AgentTask => ({
        framework_id: { value: r.framework_id },
        framework_info: r.framework_info,
        task: r.task,
        state: r.state,
        status: r.status,
      })),
      version: AGENT_VERSION,
    };
  }

  private async onRegistered(agentId: string, masterId: string): Promise<void> {
    const store = this.store!;
    if (store.data.agent_id && store.data.agent_id !== agentId) {
      this.log.warn({ old: store.data.agent_id, new: agentId }, 'the master assigned a new agent ID');
    }
    if (store.data.agent_id !== agentId) {
      store.data.agent_id = agentId;
      await store.change(); // the ID is durable before anything is done under it
    }
    this.updates!.setAgentId(agentId);
    this.masterId = masterId;
  }

  // ---------------------------------------------------------------------------------------------
  // Master messages.

  private async onRunTask(msg: z.infer<typeof RunTask>): Promise<void> {
    if (this.stopped) return;
    const agentId = this.id;
    if (!agentId) return void this.log.warn('ignoring run_task before registration');
    const frameworkId = msg.framework.id.value;
    const taskId = msg.task.task_id.value;
    const key = taskKey(frameworkId, taskId);
    if (this.tasks.has(key)) {
      this.log.debug({ frameworkId, taskId }, 'ignoring a duplicate run_task');
      return;
    }
    this.shuttingDown.delete(frameworkId);
    const record: TaskRecord = { framework_id: frameworkId, framework_info: msg.framework, task: msg.task, state: 'TASK_STAGING' };
    const live: LiveTask = { record };
    this.tasks.set(key, live);
    this.store!.data.tasks.push(record);
    const { task } = msg;
    this.log.info({ frameworkId, taskId, name: task.name }, 'launching task');

    if (task.agent_id.value !== agentId) {
      return this.report(live, { state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: `Task is for agent ${task.agent_id.value}, this is agent ${agentId}` });
    }
    if (!task.command === !task.executor) {
      return this.report(live, {
        state: 'TASK_ERROR',
        reason: 'REASON_TASK_INVALID',
        message: 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present',
      });
    }
    if (task.executor) {
      return this.report(live, { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: 'custom executors are not supported yet' });
    }
    if (!task.command?.value) {
      return this.report(live, { state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: "Task's command has no 'value' to run" });
    }
    live.launching = CommandExecutor.launch(this.spec(record), this.hooks(live), this.executorEnv()).then((executor) => {
      live.executor = executor;
      live.launching = undefined;
      if (live.pendingKillMs !== undefined && !this.stopped) void executor.kill(live.pendingKillMs);
    });
    await live.launching;
  }

  private onKillTask(msg: z.infer<typeof KillTask>): void {
    const live = this.tasks.get(taskKey(msg.framework_id.value, msg.task_id.value));
    if (!live) {
      this.log.warn({ frameworkId: msg.framework_id.value, taskId: msg.task_id.value }, 'kill_task for an unknown task; ignoring');
      return;
    }
    this.kill(live, msg.kill_policy);
  }

  /** Starts killing a task; returns the grace period that applies (0 when there is nothing to kill). */
  private kill(live: LiveTask, policy?: KillPolicy): number {
    if (isTerminal(live.record.state)) return 0;
    const ns = policy?.grace_period?.nanoseconds ?? live.record.task.kill_policy?.grace_period?.nanoseconds;
    const graceMs = ns !== undefined ? Math.round(ns / 1e6) : this.opts.killGracePeriodMs ?? 3_000;
    this.log.info({ taskId: live.record.task.task_id.value, graceMs }, 'killing task');
    if (live.executor) void live.executor.kill(graceMs).catch((err) => this.log.error({ err }, 'killing a task failed'));
    else if (live.launching) live.pendingKillMs = graceMs;
    return graceMs;
  }

  private onAcknowledge(msg: z.infer<typeof Acknowledge>): void {
    this.updates?.acknowledge(msg.framework_id.value, msg.task_id.value, msg.uuid);
  }

  private onShutdownFramework(msg: z.infer<typeof ShutdownFramework>): void {
    const frameworkId = msg.framework_id.value;
    this.log.info({ frameworkId }, 'shutting down framework: killing its tasks');
    this.shuttingDown.add(frameworkId);
    for (const live of this.tasks.values()) if (live.record.framework_id === frameworkId) this.kill(live);
    this.maybeCleanupFramework(frameworkId);
  }

  private onFrameworkMessage(msg: z.infer<typeof FrameworkMessage>): void {
    // Executors that can receive messages arrive with sandboxed executors; until then, log it.
    this.log.info(
      { frameworkId: msg.framework_id.value, executorId: msg.executor_id.value, bytes: msg.data.length },
      'framework message for an executor (no custom executors yet; dropped)',
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Tasks.

  private spec(record: TaskRecord): CommandTaskSpec {
    return {
      workDir: this.opts.workDir,
      frameworkId: record.framework_id,
      agentId: this.id!,
      hostname: this.opts.hostname,
      task: record.task,
      defaultGracePeriodMs: this.opts.killGracePeriodMs ?? 3_000,
      taskKillingState: record.framework_info?.capabilities?.some((c) => c.type === 'TASK_KILLING_STATE') ?? false,
    };
  }

  private executorEnv() {
    return { rss: this.rss!, cgroupBase: this.cgroupBase, logger: this.log };
  }

  private hooks(live: LiveTask): ExecutorHooks {
    return {
      checkpoint: async (proc, kill) => {
        if (this.stopped) return;
        live.record.process = proc;
        live.record.kill = kill;
        await this.store!.change();
      },
      status: (s) => {
        if (!this.stopped) this.report(live, s);
      },
    };
  }

  /** Turns a state change into a reliable status update and records it as the task's latest. */
  private report(live: LiveTask, s: { state: TaskState; message?: string; reason?: string }): void {
    const { record } = live;
    this.log.info({ taskId: record.task.task_id.value, state: s.state, message: s.message, reason: s.reason }, 'task state');
    this.updates!.update(record.framework_id, { task_id: record.task.task_id, ...s }, (u) => {
      record.state = s.state;
      record.status = u.status;
    }).catch((err) => this.log.error({ err }, 'cannot record a status update'));
    if (isTerminal(s.state)) this.maybeCleanupFramework(record.framework_id);
  }

  /** A shut-down framework whose tasks are all terminal: nobody will acknowledge its updates. */
  private maybeCleanupFramework(frameworkId: string): void {
    if (!this.shuttingDown.has(frameworkId)) return;
    const mine = [...this.tasks.values()].filter((t) => t.record.framework_id === frameworkId);
    if (mine.some((t) => !isTerminal(t.record.state))) return;
    // Let the terminal updates reach the disk queue first so cleanup removes them too.
    queueMicrotask(() => {
      this.shuttingDown.delete(frameworkId);
      this.updates?.cleanupFramework(frameworkId);
      for (const t of mine) this.forget(frameworkId, t.record.task.task_id.value);
      this.log.info({ frameworkId }, 'framework shut down; its tasks and pending updates are gone');
    });
  }

  /** Drops a finished task from the agent's state (its sandbox stays for its logs). */
  private forget(frameworkId: string, taskId: string): void {
    const key = taskKey(frameworkId, taskId);
    if (!this.tasks.delete(key) || !this.store) return;
    const tasks = this.store.data.tasks;
    const at = tasks.findIndex((r) => r.framework_id === frameworkId && r.task.task_id.value === taskId);
    if (at >= 0) tasks.splice(at, 1);
    this.store.change().catch((err) => this.log.error({ err }, 'cannot checkpoint a removed task'));
    void rm(metaDir(this.opts.workDir, frameworkId, taskId), { recursive: true, force: true }).catch(() => undefined);
  }

  /** Re-attaches to the tasks of the previous incarnation of this agent. */
  private recoverTasks(): void {
    for (const record of this.store!.data.tasks) {
      const live: LiveTask = { record };
      this.tasks.set(taskKey(record.framework_id, record.task.task_id.value), live);
      if (isTerminal(record.state)) continue; // waiting for the acknowledgement of its terminal update
      if (record.process) {
        live.executor = CommandExecutor.recover(this.spec(record), this.hooks(live), this.executorEnv(), record.process, record.kill);
        this.log.info({ taskId: record.task.task_id.value, pid: record.process.pid }, 're-attached to a running task');
      } else {
        this.report(live, {
          state: 'TASK_FAILED',
          reason: 'REASON_EXECUTOR_TERMINATED',
          message: 'The agent restarted before the task was launched',
        });
      }
    }
  }

  /** The master's ID from the last registration (for logs and tests). */
  get master(): string | undefined {
    return this.masterId;
  }
}

function validateOptions(o: AgentOptions): void {
  const positive = (name: keyof AgentOptions, v: number | undefined, min = 1) => {
    if (v !== undefined && (!Number.isFinite(v) || v < min)) throw new Error(`agent option ${name} must be a number >= ${min}, got ${v}`);
  };
  positive('statusUpdateRetryMinMs', o.statusUpdateRetryMinMs);
  positive('statusUpdateRetryMaxMs', o.statusUpdateRetryMaxMs);
  positive('killGracePeriodMs', o.killGracePeriodMs, 0);
  positive('memoryCheckIntervalMs', o.memoryCheckIntervalMs, 10);
  if ((o.statusUpdateRetryMaxMs ?? 60_000) < (o.statusUpdateRetryMinMs ?? 2_000)) {
    throw new Error('agent option statusUpdateRetryMaxMs must not be below statusUpdateRetryMinMs');
  }
  if (!/^(https?|wss?):\/\//.test(o.masterUrl)) throw new Error(`the master URL must be http(s)://HOST:PORT, got '${o.masterUrl}'`);
}

/** The address to advertise for a bind host: itself, or for a wildcard bind the first external IPv4. */
function advertisedIp(host: string): string {
  if (host === 'localhost') return '127.0.0.1';
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
