import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { Server, type Socket } from 'socket.io';
import { RegisterAgent, StatusUpdate, type TaskInfo } from '../protocol/messages.ts';
import { Agent, type AgentOptions } from './agent.ts';
import { checkpointPath } from './checkpoint.ts';
import { groupHasLiveProcess, killGroup, removeDir, silentLogger, tempDir, waitFor } from './testing.ts';

/** A tiny master: a real socket.io server with the /agent namespace, recording what agents say. */
class FakeMaster {
  registrations: RegisterAgent[] = [];
  updates: StatusUpdate[] = [];
  refused = 0;
  sockets = new Set<Socket>();
  private http!: HttpServer;
  private io!: Server;
  port = 0;
  private readonly secret: string | undefined;

  constructor(secret?: string) {
    this.secret = secret;
  }

  async start(port = 0): Promise<void> {
    this.http = createServer();
    this.io = new Server(this.http);
    const ns = this.io.of('/agent');
    ns.use((socket, next) => {
      if (this.secret && socket.handshake.auth?.secret !== this.secret) {
        this.refused++;
        return next(new Error('unauthorized: wrong or missing secret'));
      }
      next();
    });
    ns.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('disconnect', () => this.sockets.delete(socket));
      socket.on('register', (raw: unknown, ack: (a: unknown) => void) => {
        const msg = RegisterAgent.parse(raw); // the agent must speak the protocol
        this.registrations.push(msg);
        ack({ ok: true, agent_id: msg.agent_id?.value ?? `agent-${this.registrations.length}`, master_id: 'master-1' });
      });
      socket.on('status_update', (raw: unknown) => void this.updates.push(StatusUpdate.parse(raw)));
    });
    await new Promise<void>((r) => this.http.listen(port, '127.0.0.1', () => r()));
    this.port = (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  emit(event: string, ...args: unknown[]): void {
    for (const s of this.sockets) s.emit(event, ...args);
  }

  async ping(): Promise<unknown> {
    const [s] = this.sockets;
    return s.timeout(2000).emitWithAck('ping');
  }

  ack(u: StatusUpdate): void {
    this.emit('acknowledge', { framework_id: u.framework_id, task_id: u.status.task_id, uuid: u.status.uuid });
  }

  /** Distinct updates (by uuid) for a task, in first-seen order. */
  distinct(taskId: string): StatusUpdate[] {
    const seen = new Map<string, StatusUpdate>();
    for (const u of this.updates) if (u.status.task_id.value === taskId && !seen.has(u.status.uuid)) seen.set(u.status.uuid, u);
    return [...seen.values()];
  }

  /** Waits for an update of the task in `state`. */
  waitState(taskId: string, state: string): Promise<StatusUpdate> {
    return waitFor(() => this.updates.find((u) => u.status.task_id.value === taskId && u.status.state === state), `${taskId} ${state}`);
  }

  async stop(): Promise<void> {
    this.io.disconnectSockets(true);
    await new Promise<void>((r) => this.io.close(() => r()));
    this.http.closeAllConnections();
  }
}

const framework = { id: { value: 'fw-1' }, name: 'test-fw', user: '' };
const command = (taskId: string, value: string, agentId = 'agent-1', extra: Partial<TaskInfo> = {}): TaskInfo => ({
  name: taskId, task_id: { value: taskId }, agent_id: { value: agentId }, resources: [], command: { shell: true, value }, ...extra,
});

let workDir: string;
let master: FakeMaster;
const agents: Agent[] = [];
const pgids: number[] = [];

function newAgent(over: Partial<AgentOptions> = {}): Agent {
  const agent = new Agent({
    masterUrl: master.url, workDir, hostname: 'host-a',
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }], attributes: [],
    statusUpdateRetryMinMs: 50, statusUpdateRetryMaxMs: 200, killGracePeriodMs: 500, memoryCheckIntervalMs: 50,
    logger: silentLogger(), ...over,
  });
  agents.push(agent);
  return agent;
}

async function checkpoint(): Promise<{ agent_id?: string; tasks: any[]; updates: any[] }> {
  return JSON.parse(await readFile(checkpointPath(workDir), 'utf8'));
}

beforeEach(async () => {
  workDir = await tempDir('agent');
  master = new FakeMaster();
  await master.start();
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  try {
    for (const t of (await checkpoint()).tasks) {
      killGroup(t.process?.pgid);
    }
  } catch {
    // no checkpoint
  }
  for (const g of pgids.splice(0)) killGroup(g);
  await master.stop();
  await removeDir(workDir);
});

describe('agent', () => {
  test('registers, runs a command task, delivers its updates until acknowledged, serves its stdout', async () => {
    const agent = newAgent();
    await agent.start();
    await waitFor(() => agent.registered, 'registration');
    expect(agent.id).toBe('agent-1');
    expect(master.registrations[0]).toMatchObject({ hostname: 'host-a', address: agent.httpAddress, tasks: [] });
    expect(master.registrations[0].agent_id).toBeUndefined();
    expect((await checkpoint()).agent_id).toBe('agent-1');

    master.emit('run_task', { framework, task: command('t1', 'echo hello from t1') });
    // Only the head is in flight: acknowledge each update to get the next.
    const states: string[] = [];
    for (const state of ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']) {
      const u = await master.waitState('t1', state);
      expect(u.status).toMatchObject({ agent_id: { value: 'agent-1' }, source: 'SOURCE_EXECUTOR', uuid: expect.any(String) });
      expect(u.framework_id).toEqual({ value: 'fw-1' });
      states.push(u.status.state);
      master.ack(u);
    }
    expect(states).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(master.distinct('t1').map((u) => u.status.state)).toEqual(states);
    // The terminal ack removes the task from the checkpoint; the sandbox stays and is served.
    await waitFor(async () => (await checkpoint()).tasks.length === 0 && (await checkpoint()).updates.length === 0, 'the task to be forgotten');
    const { ip, port } = agent.httpAddress;
    const res = await fetch(`http://${ip}:${port}/files/read?path=fw-1/t1/stdout`);
    expect(await res.json()).toEqual({ data: 'hello from t1\n', offset: 0 });
  });

  test('an unacknowledged update is resent with the same uuid; the ack stops it', async () => {
    const agent = newAgent();
    await agent.start();
    await waitFor(() => agent.registered, 'registration');
    master.emit('run_task', { framework, task: command('t1', 'true') });
    const starting = await master.waitState('t1', 'TASK_STARTING');
    await waitFor(() => master.updates.filter((u) => u.status.uuid === starting.status.uuid).length >= 3, 'resends');
    expect(master.distinct('t1')).toHaveLength(1); // RUNNING waits behind the unacknowledged head
    master.ack(starting);
    const running = await master.waitState('t1', 'TASK_RUNNING');
    const before = master.updates.filter((u) => u.status.uuid === starting.status.uuid).length;
    await waitFor(() => master.updates.filter((u) => u.status.uuid === running.status.uuid).length >= 3, 'RUNNING resends');
    expect(master.updates.filter((u) => u.status.uuid === starting.status.uuid).length).toBe(before);
  });

  test('a restarted agent re-registers with its ID and running task, and can still kill it', async () => {
    const first = newAgent();
    await first.start();
    await waitFor(() => first.registered, 'registration');
    master.emit('run_task', { framework, task: command('long', 'sleep 60') });
    master.ack(await master.waitState('long', 'TASK_STARTING'));
    const running = await master.waitState('long', 'TASK_RUNNING');
    master.ack(running);
    const pgid = await waitFor(async () => (await checkpoint()).tasks[0]?.process?.pgid as number | undefined, 'the pid checkpoint');
    pgids.push(pgid);
    await first.stop();
    expect(await groupHasLiveProcess(pgid)).toBe(true); // the task outlives the agent

    const second = newAgent();
    await second.start();
    await waitFor(() => second.registered, 're-registration');
    const again = master.registrations.at(-1)!;
    expect(again.agent_id).toEqual({ value: 'agent-1' });
    expect(again.tasks).toHaveLength(1);
    expect(again.tasks[0]).toMatchObject({ framework_id: { value: 'fw-1' }, state: 'TASK_RUNNING', task: { task_id: { value: 'long' } } });
    expect(again.tasks[0].status?.uuid).toBe(running.status.uuid);

    master.emit('kill_task', { framework_id: { value: 'fw-1' }, task_id: { value: 'long' } });
    const killed = await master.waitState('long', 'TASK_KILLED');
    expect(killed.status.message).toBe('Command terminated with signal SIGTERM');
    await waitFor(async () => !(await groupHasLiveProcess(pgid)), 'the group to be gone');
  });

  test('a task that finished while the agent was down is reported after it comes back', async () => {
    const first = newAgent();
    await first.start();
    await waitFor(() => first.registered, 'registration');
    master.emit('run_task', { framework, task: command('quick', 'while [ ! -e go ]; do sleep 0.02; done; exit 5') });
    master.ack(await master.waitState('quick', 'TASK_STARTING'));
    await master.waitState('quick', 'TASK_RUNNING');
    await waitFor(async () => (await checkpoint()).tasks[0]?.process, 'the pid checkpoint');
    await first.stop();
    await (await import('node:fs/promises')).writeFile(`${workDir}/sandboxes/fw-1/quick/go`, '');
    const second = newAgent();
    await second.start();
    // The unacknowledged RUNNING is resent first (same uuid), then the terminal state follows.
    const running = master.distinct('quick').find((u) => u.status.state === 'TASK_RUNNING')!;
    await waitFor(() => master.updates.filter((u) => u.status.uuid === running.status.uuid).length >= 2, 'RUNNING resent');
    master.ack(running);
    const failed = await master.waitState('quick', 'TASK_FAILED');
    expect(failed.status.message).toBe('Command exited with status 5');
  });

  test('reconnects and re-registers when the master restarts; pending updates are resent', async () => {
    const agent = newAgent();
    await agent.start();
    await waitFor(() => agent.registered, 'registration');
    master.emit('run_task', { framework, task: command('t1', 'true') });
    const starting = await master.waitState('t1', 'TASK_STARTING');
    const port = master.port;
    await master.stop();
    await waitFor(() => !agent.registered, 'the agent to notice');
    master = new FakeMaster();
    await master.start(port);
    await waitFor(() => master.registrations.length > 0 && agent.registered, 're-registration', 15_000);
    expect(master.registrations[0].agent_id).toEqual({ value: 'agent-1' });
    const resent = await master.waitState('t1', 'TASK_STARTING');
    expect(resent.status.uuid).toBe(starting.status.uuid);
  });

  test('validates master messages: garbage is ignored, the agent keeps working', async () => {
    const agent = newAgent();
    await agent.start();
    await waitFor(() => agent.registered, 'registration');
    master.emit('run_task', null);
    master.emit('run_task', { framework, task: { task_id: { value: '../evil' }, name: 'x', agent_id: { value: 'agent-1' } } });
    master.emit('run_task', 'nonsense');
    master.emit('kill_task', { task_id: 42 });
    master.emit('acknowledge', { framework_id: { value: 'fw-1' } });
    master.emit('shutdown_framework', []);
    master.emit('framework_message', { data: 1 });
    master.emit('ping'); // no ack function
    expect(await master.ping()).toEqual({ ok: true });
    // Nothing was launched for the invalid ones: the next valid task is the only one.
    master.emit('run_task', { framework, task: command('ok', 'true') });
    await master.waitState('ok', 'TASK_STARTING');
    expect(new Set(master.updates.map((u) => u.status.task_id.value))).toEqual(new Set(['ok']));
  });

  test('run_task is idempotent; executor-only is TASK_FAILED, neither/both is TASK_ERROR, foreign agent_id too', async () => {
    const agent = newAgent();
    await agent.start();
    await waitFor(() => agent.registered, 'registration');
    const sleepy = command('dup', 'sleep 60');
    master.emit('run_task', { framework, task: sleepy });
    master.emit('run_task', { framework, task: sleepy });
    master.ack(await master.waitState('dup', 'TASK_STARTING'));
    master.ack(await master.waitState('dup', 'TASK_RUNNING'));
    expect(master.distinct('dup').map((u) => u.status.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING']);

    master.emit('run_task', { framework, task: { name: 'e', task_id: { value: 'exec' }, agent_id: { value: 'agent-1' }, executor: { executor_id: { value: 'ex' } } } });
    expect((await master.waitState('exec', 'TASK_FAILED')).status.message).toBe('custom executors are not supported yet');
    master.emit('run_task', { framework, task: { name: 'n', task_id: { value: 'neither' }, agent_id: { value: 'agent-1' } } });
    expect((await master.waitState('neither', 'TASK_ERROR')).status.reason).toBe('REASON_TASK_INVALID');
    master.emit('run_task', { framework, task: command('foreign', 'true', 'agent-9') });
    expect((await master.waitState('foreign', 'TASK_ERROR')).status.message).toMatch(/agent-9/);

    master.emit('kill_task', { framework_id: { value: 'fw-1' }, task_id: { value: 'dup' }, kill_policy: { grace_period: { nanoseconds: 100_000_000 } } });
    await master.waitState('dup', 'TASK_KILLED');
  });

  test('shutdown_framework kills its tasks and drops their pending updates', async () => {
    const agent = newAgent();
    await agent.start();
    await waitFor(() => agent.registered, 'registration');
    master.emit('run_task', { framework, task: command('s1', 'sleep 60') });
    master.ack(await master.waitState('s1', 'TASK_STARTING'));
    await master.waitState('s1', 'TASK_RUNNING'); // left unacknowledged on purpose
    const pgid = await waitFor(async () => (await checkpoint()).tasks[0]?.process?.pgid as number | undefined, 'the pid checkpoint');
    pgids.push(pgid);
    master.emit('shutdown_framework', { framework_id: { value: 'fw-1' } });
    await waitFor(async () => {
      const c = await checkpoint();
      return c.tasks.length === 0 && c.updates.length === 0;
    }, 'the framework to be cleaned up');
    await waitFor(async () => !(await groupHasLiveProcess(pgid)), 'the task to be killed');
  });

  test('shutdown() kills every task and waits for their terminal states; stop() then leaves nothing running', async () => {
    const agent = newAgent({ killGracePeriodMs: 200 });
    await agent.start();
    await waitFor(() => agent.registered, 'registration');
    master.emit('run_task', { framework, task: command('a', "trap '' TERM; while :; do sleep 0.05; done") });
    master.emit('run_task', { framework, task: command('b', 'sleep 60') });
    const pgidsNow = await waitFor(async () => {
      const tasks = (await checkpoint()).tasks;
      return tasks.length === 2 && tasks.every((t) => t.process) ? tasks.map((t) => t.process.pgid as number) : undefined;
    }, 'both pids');
    pgids.push(...pgidsNow);
    await agent.shutdown();
    await agent.stop();
    const states = Object.fromEntries((await checkpoint()).tasks.map((t) => [t.task.task_id.value, t.state]));
    expect(states).toEqual({ a: 'TASK_KILLED', b: 'TASK_KILLED' });
    for (const g of pgidsNow) expect(await groupHasLiveProcess(g)).toBe(false);
  });

  test('with a secret: a wrong secret never registers, the right one does', async () => {
    await master.stop();
    master = new FakeMaster('right');
    await master.start();
    const wrong = newAgent({ secret: 'wrong' });
    await wrong.start();
    await waitFor(() => master.refused >= 1, 'the refusal');
    expect(wrong.registered).toBe(false);
    await wrong.stop();
    const right = newAgent({ secret: 'right' });
    await right.start();
    await waitFor(() => right.registered, 'registration');
    expect(master.registrations).toHaveLength(1);
  });

  test('refuses to serve beyond loopback without a secret', async () => {
    const agent = newAgent({ host: '0.0.0.0' });
    await expect(agent.start()).rejects.toThrow(/without a secret/);
  });
});
