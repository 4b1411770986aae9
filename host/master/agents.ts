// Agents: registration and re-registration (with the tasks they run, which is how a restarted
// master rebuilds its picture), liveness, and the road from disconnected to unreachable
// (TASK_UNREACHABLE) to removed (TASK_LOST). What must stay true: the allocator holds an agent
// exactly while it is reachable, with every non-terminal task's resources recorded as allocated.
import { Resources } from '../core/resources.ts';
import { isTerminal } from '../protocol/messages.ts';
import type { AgentTask, RegisterAgent, RegisterAgentAck } from '../protocol/messages.ts';
import type { Master } from './master.ts';
import { taskKey, type AgentConnection, type AgentRecord, type TaskRecord } from './records.ts';

export class Agents {
  private readonly m: Master;

  constructor(master: Master) {
    this.m = master;
  }

  byConnection(conn: AgentConnection): AgentRecord | undefined {
    for (const a of this.m.agentRecords.values()) if (a.connection === conn) return a;
    return undefined;
  }

  async register(conn: AgentConnection, msg: RegisterAgent): Promise<RegisterAgentAck> {
    let resources: Resources;
    try {
      resources = Resources.fromProto(msg.resources);
    } catch (err) {
      return { ok: false, error: `resources: ${(err as Error).message}` };
    }
    const id = msg.agent_id?.value ?? this.m.nextId('agent');
    const now = Date.now() / 1000;
    // Durable before the agent is told its ID: it must be recognised after a master restart.
    await this.m.registry.admitAgent({ id, hostname: msg.hostname, address: msg.address, registered_time: now });
    if (this.m.isStopped) return { ok: false, error: 'master is shutting down' };

    let agent = this.m.agentRecords.get(id);
    if (agent) {
      const old = agent.connection;
      agent.connection = null;
      if (old && old !== conn) old.close('agent re-registered on another connection');
      clearInterval(agent.pingTimer);
      clearTimeout(agent.disconnectTimer);
      clearTimeout(agent.removalTimer);
      this.m.offers.rescindAgent(agent);
      if (!agent.unreachable) this.m.allocator.removeAgent(id);
      agent.reregisteredTime = now;
      Object.assign(agent, { hostname: msg.hostname, address: msg.address, resources, attributes: msg.attributes });
    } else {
      agent = {
        id, hostname: msg.hostname, address: msg.address, resources, attributes: msg.attributes,
        version: msg.version, connection: null, active: false, unreachable: false, registeredTime: now,
        tasks: new Map(), offers: new Set(), lostTasks: new Set(),
      };
      this.m.agentRecords.set(id, agent);
    }
    agent.unreachable = false;
    agent.unreachableTime = undefined;
    this.m.allocator.addAgent(id, resources, { active: false });
    this.reconcileTasks(agent, conn, msg.tasks);

    agent.connection = conn;
    agent.active = true;
    this.m.allocator.activateAgent(id);
    this.startPing(agent);
    this.m.log.info({ agent: id, hostname: msg.hostname, tasks: msg.tasks.length, reregistered: Boolean(msg.agent_id) }, 'agent registered');
    this.m.events.emit('agent', agent);
    this.m.offers.allocateSoon([id]);
    return { ok: true, agent_id: id, master_id: this.m.id };
  }

  /** Adopts what the agent reports; tasks the master expected but the agent lacks are lost. */
  private reconcileTasks(agent: AgentRecord, conn: AgentConnection, reported: AgentTask[]): void {
    const seen = new Set<string>();
    for (const report of reported) {
      const frameworkId = report.framework_id.value;
      const taskId = report.task.task_id.value;
      const key = taskKey(frameworkId, taskId);
      seen.add(key);
      if (agent.lostTasks.has(key)) {
        // Its framework was told TASK_LOST and has likely replaced it: stop the straggler.
        conn.send('kill_task', { framework_id: report.framework_id, task_id: report.task.task_id });
        continue;
      }
      const framework = this.m.frameworks.ensure(frameworkId, report.framework_info);
      let task = agent.tasks.get(key);
      const status = report.status ?? this.m.tasks.masterStatus(taskId, agent.id, report.state);
      if (!task) {
        let resources: Resources;
        try {
          resources = Resources.fromProto(report.task.resources);
        } catch {
          resources = Resources.empty();
        }
        task = {
          frameworkId, agentId: agent.id, info: report.task, resources,
          role: report.task.resources[0]?.allocation_info?.role ?? framework.roles[0],
          state: report.state, status, statuses: [status], seenUuids: new Set(), resourcesRecovered: false,
        };
        if (status.uuid) task.seenUuids.add(status.uuid);
        this.m.tasks.add(framework, agent, task);
        this.m.events.emit('task', task, status);
      } else if (task.state === 'TASK_UNREACHABLE' || task.state !== report.state) {
        this.m.tasks.masterTransition(task, report.state, 'REASON_AGENT_REREGISTERED', `Agent ${agent.hostname} re-registered`, report.status);
      }
      task.resourcesRecovered = isTerminal(task.state);
      if (!task.resourcesRecovered && !this.m.allocator.recordAllocation(frameworkId, agent.id, task.role, task.resources)) {
        this.m.log.warn({ agent: agent.id, task: taskId }, 'agent reports more in use than it has; task resources not counted');
      }
    }
    for (const [key, task] of [...agent.tasks]) {
      if (seen.has(key)) continue;
      task.resourcesRecovered = true; // not in the allocator's fresh view of this agent
      this.m.tasks.complete(task, 'TASK_LOST', 'REASON_AGENT_REREGISTERED', `Task is unknown to agent ${agent.hostname} after it re-registered`);
    }
  }

  private startPing(agent: AgentRecord): void {
    const timeout = this.m.options.agentPingTimeoutMs;
    let inFlight = false;
    clearInterval(agent.pingTimer);
    agent.pingTimer = setInterval(() => {
      const conn = agent.connection;
      if (inFlight || !conn) return;
      inFlight = true;
      void conn.ping(timeout).then((answered) => {
        inFlight = false;
        if (!answered && agent.connection === conn) this.markUnreachable(agent, `did not answer pings for ${timeout} ms`);
      });
    }, Math.max(50, Math.floor(timeout / 3)));
  }

  /** The link dropped: no more offers from it, and unreachable if it does not come back in time. */
  disconnected(conn: AgentConnection): void {
    const agent = this.byConnection(conn);
    if (!agent || this.m.isStopped) return; // a stopping master closes every socket itself
    agent.connection = null;
    agent.active = false;
    clearInterval(agent.pingTimer);
    this.m.allocator.deactivateAgent(agent.id);
    this.m.offers.rescindAgent(agent);
    const timeout = this.m.options.agentPingTimeoutMs;
    agent.disconnectTimer = setTimeout(() => {
      if (!agent.connection) this.markUnreachable(agent, `disconnected and did not re-register within ${timeout} ms`);
    }, timeout);
    this.m.log.warn({ agent: agent.id }, 'agent disconnected');
    this.m.events.emit('agent', agent);
  }

  markUnreachable(agent: AgentRecord, why: string): void {
    if (agent.unreachable) return;
    agent.unreachable = true;
    agent.active = false;
    agent.unreachableTime = Date.now() / 1000;
    clearInterval(agent.pingTimer);
    clearTimeout(agent.disconnectTimer);
    const conn = agent.connection;
    agent.connection = null;
    conn?.close('agent marked unreachable');
    this.m.offers.rescindAgent(agent);
    this.m.allocator.removeAgent(agent.id);
    for (const task of agent.tasks.values()) {
      task.resourcesRecovered = true;
      if (!isTerminal(task.state)) {
        this.m.tasks.masterTransition(task, 'TASK_UNREACHABLE', 'REASON_AGENT_DISCONNECTED', `Agent ${agent.hostname} is unreachable: ${why}`);
      }
    }
    for (const framework of this.m.frameworkRecords.values()) {
      framework.connection?.send({ type: 'FAILURE', failure: { agent_id: { value: agent.id } } });
    }
    agent.removalTimer = setTimeout(() => this.remove(agent), this.m.options.agentRemovalTimeoutMs);
    this.m.log.warn({ agent: agent.id, why }, 'agent unreachable');
    this.m.events.emit('agent', agent);
  }

  /** Unreachable for too long: its tasks are TASK_LOST; if it ever returns they are killed there. */
  private remove(agent: AgentRecord): void {
    if (!agent.unreachable) return;
    for (const [key, task] of [...agent.tasks] as Array<[string, TaskRecord]>) {
      if (!isTerminal(task.state)) agent.lostTasks.add(key);
      this.m.tasks.complete(task, 'TASK_LOST', 'REASON_AGENT_REMOVED', `Agent ${agent.hostname} was unreachable for too long; task lost`);
    }
    this.m.log.warn({ agent: agent.id }, 'agent removed; its tasks are lost');
    this.m.events.emit('agent', agent);
  }
}
