// Integration-test harness: a real master on a free port (in this process), real agent processes
// started through the CLI, and helpers that wait for conditions instead of sleeping. Everything
// started here is stopped by `cleanup()`, including task processes orphaned by a killed agent.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMaster, type MasterServer, type MasterServerOptions } from '../../host/master/server.ts';
import { createLogger } from '../../host/common/log.ts';
import { SchedulerClient } from '../../host/client/scheduler-client.ts';
import type { Event } from '../../host/protocol/messages.ts';

export const CLI = fileURLToPath(new URL('../../host/cli/agora.ts', import.meta.url));

export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Kills every process whose working directory lies under `dir` (task processes of dead agents). */
export async function killProcessesUnder(dir: string): Promise<void> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = await readlink(`/proc/${entry}/cwd`);
      if (cwd.startsWith(dir)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone already, or not ours
    }
  }
}

export interface AgentProcess {
  child: ChildProcess;
  workDir: string;
  hostname: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export class TestCluster {
  readonly root: string;
  server!: MasterServer;
  readonly agents: AgentProcess[] = [];
  readonly clients: SchedulerClient[] = [];
  private masterOpts: Partial<MasterServerOptions> = {};
  private masterPort = 0;

  private constructor(root: string) {
    this.root = root;
  }

  static async start(masterOpts: Partial<MasterServerOptions> = {}): Promise<TestCluster> {
    const c = new TestCluster(await mkdtemp(join(tmpdir(), 'agora-test-')));
    c.masterOpts = masterOpts;
    try {
      await c.startMaster();
    } catch (err) {
      await rm(c.root, { recursive: true, force: true });
      throw err;
    }
    return c;
  }

  get url(): string {
    return this.server.url;
  }

  async startMaster(): Promise<void> {
    this.server = await startMaster({
      port: this.masterPort,
      workDir: join(this.root, 'master'),
      logger: createLogger('master', { level: process.env.AGORA_TEST_LOG ?? 'silent', pretty: false }),
      agentPingTimeoutMs: 1000,
      agentRemovalTimeoutMs: 1000,
      allocationIntervalMs: 100,
      ...this.masterOpts,
    });
    this.masterPort = this.server.port; // a restart comes back on the same port
  }

  async restartMaster(): Promise<void> {
    await this.server.close();
    await this.startMaster();
  }

  startAgent(hostname: string, resources = 'cpus:2;mem:1024;disk:1024;ports:[31000-31009]', extra: string[] = []): AgentProcess {
    const workDir = join(this.root, hostname);
    const args = [
      '--no-node-snapshot', CLI, 'agent', '--master', this.url, '--port', '0', '--work-dir', workDir,
      '--hostname', hostname, '--resources', resources, ...extra,
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', process.env.AGORA_TEST_LOG ? 'inherit' : 'ignore', process.env.AGORA_TEST_LOG ? 'inherit' : 'ignore'],
      env: { ...process.env, AGORA_LOG_LEVEL: process.env.AGORA_TEST_LOG ?? 'silent' },
    });
    const agent: AgentProcess = {
      child,
      workDir,
      hostname,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill(signal);
        await exited;
      },
    };
    this.agents.push(agent);
    return agent;
  }

  async state(): Promise<any> {
    const res = await fetch(`${this.url}/master/state`);
    return res.json();
  }

  /** Waits until `n` agents are active in /master/state. */
  async waitForAgents(n: number): Promise<any[]> {
    return waitFor(async () => {
      const s = await this.state();
      return s.slaves.filter((a: any) => a.active).length >= n && s.slaves;
    }, `${n} active agents`);
  }

  client(secret?: string): SchedulerClient {
    const c = new SchedulerClient(this.url, { secret });
    this.clients.push(c);
    return c;
  }

  /** Closes the schedulers a test opened (its frameworks are removed: failover_timeout 0). */
  closeClients(): void {
    for (const c of this.clients.splice(0)) c.close();
  }

  async cleanup(): Promise<void> {
    this.closeClients();
    await Promise.all(this.agents.map((a) => a.stop('SIGKILL')));
    await killProcessesUnder(this.root);
    await this.server.close();
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Records every event a client receives, and waits for the ones a test expects. */
export class EventLog {
  readonly events: Event[] = [];
  private readonly off: () => void;

  /** With `autoAck`, every update carrying a uuid is acknowledged as it arrives. */
  constructor(client: SchedulerClient, opts: { autoAck?: boolean } = {}) {
    this.off = client.onEvent((e) => {
      this.events.push(e);
      if (opts.autoAck && e.type === 'UPDATE' && e.update.status.uuid && e.update.status.agent_id) {
        const { agent_id, task_id, uuid } = e.update.status;
        // An acknowledgement lost to a disconnect is harmless: the agent resends the update.
        client.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id, task_id, uuid } }).catch(() => undefined);
      }
    });
  }

  of<T extends Event['type']>(type: T): Array<Extract<Event, { type: T }>> {
    return this.events.filter((e): e is Extract<Event, { type: T }> => e.type === type);
  }

  updates(taskId?: string) {
    return this.of('UPDATE').map((e) => e.update.status).filter((s) => !taskId || s.task_id.value === taskId);
  }

  waitFor<T>(check: (log: EventLog) => T | undefined | null | false, what: string, timeoutMs?: number): Promise<T> {
    return waitFor(() => check(this), what, timeoutMs);
  }

  private offersTaken = 0;

  /** The offers of the next OFFERS event not yet taken by an earlier call. */
  async nextOffers(timeoutMs?: number) {
    const index = this.offersTaken++;
    const ev = await this.waitFor((l) => l.of('OFFERS')[index], 'an OFFERS event', timeoutMs);
    return ev.offers.offers;
  }

  stop(): void {
    this.off();
  }
}
