// Tasks: ACCEPT (LAUNCH) validation and launch, status updates from agents, KILL, ACKNOWLEDGE and
// RECONCILE. What must stay true: a task's resources are recovered exactly once (when it reaches a
// terminal state or its agent is removed); an update resent by an agent (same uuid) is forwarded
// again but applied once; a task leaves the master only when its terminal update is acknowledged
// (or the master itself ended it).
import { Resources } from '../core/resources.ts';
import { isTerminal } from '../protocol/messages.ts';
import type { CallAck, CallOf, StatusUpdate, TaskInfo, TaskState, TaskStatus } from '../protocol/messages.ts';
import type { Master } from './master.ts';
import { taskKey, type AgentRecord, type FrameworkRecord, type OfferRecord, type TaskRecord } from './records.ts';

const MAX_STATUS_HISTORY = 20;
const MAX_SEEN_UUIDS = 32;

const partitionAware = (f: FrameworkRecord): boolean =>
  (f.info.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');

export class Tasks {
  private readonly m: Master;

  constructor(master: Master) {
    this.m = master;
  }

  /** A status the master itself produces: no uuid, so the scheduler need not acknowledge it. */
  masterStatus(taskId: string, agentId: string | undefined, state: TaskState, reason?: string, message?: string): TaskStatus {
    return {
      task_id: { value: taskId },
      state,
      source: 'SOURCE_MASTER',
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      ...(agentId ? { agent_id: { value: agentId } } : {}),
      timestamp: Date.now() / 1000,
    };
  }

  private tell(framework: FrameworkRecord, status: TaskStatus): void {
    framework.connection?.send({ type: 'UPDATE', update: { status } });
  }

  accept(framework: FrameworkRecord, accept: CallOf<'ACCEPT'>['accept']): CallAck {
    for (const [i, op] of accept.operations.entries()) {
      if (op.type !== 'LAUNCH') {
        return { ok: false, error: `accept.operations[${i}].type: unsupported operation '${op.type}' (supported: LAUNCH)` };
      }
      if (!op.launch) return { ok: false, error: `accept.operations[${i}].launch: required for a LAUNCH operation` };
    }
    const taskInfos = accept.operations.flatMap((op) => op.launch?.task_infos ?? []);

    const offers: OfferRecord[] = [];
    const problems: string[] = [];
    for (const { value } of accept.offer_ids) {
      const offer = this.m.offerRecords.get(value);
      if (!offer) problems.push(`offer '${value}' is not outstanding (unknown, already used or rescinded)`);
      else if (offer.frameworkId !== framework.id) problems.push(`offer '${value}' belongs to another framework`);
      else if (offers.includes(offer)) problems.push(`offer '${value}' is named twice`);
      else offers.push(offer);
    }
    if (new Set(offers.map((o) => o.agentId)).size > 1) problems.push('the offers are on more than one agent');
    const agent = offers.length > 0 ? this.m.agentRecords.get(offers[0].agentId) : undefined;
    if (problems.length === 0 && !agent?.connection) problems.push('the offers\' agent is no longer connected');

    if (problems.length > 0) {
      // As Mesos: valid offers go back to the pool untouched and every task is dropped.
      for (const offer of offers) {
        this.m.offers.take(offer);
        this.m.offers.recover(offer.frameworkId, offer.agentId, offer.resources);
      }
      const message = problems.join('; ');
      for (const task of taskInfos) {
        this.tell(framework, this.masterStatus(task.task_id.value, task.agent_id.value, 'TASK_DROPPED', 'REASON_INVALID_OFFERS', message));
      }
      return { ok: false, code: 'INVALID_OFFERS', error: `accept.offer_ids: ${message}` };
    }

    let remaining = Resources.empty();
    for (const offer of offers) {
      this.m.offers.take(offer);
      remaining = remaining.add(offer.resources);
      this.m.events.emit('offer', { kind: 'accepted', offer });
    }
    const target = agent as AgentRecord;
    const role = offers[0].role;
    const launching = new Set<string>();
    for (const info of taskInfos) {
      const checked = this.validateTask(framework, target, info, remaining, launching);
      if (typeof checked === 'string') {
        this.tell(framework, this.masterStatus(info.task_id.value, target.id, 'TASK_ERROR', 'REASON_TASK_INVALID', checked));
        this.m.metrics.count('master/tasks_error');
        continue;
      }
      launching.add(info.task_id.value);
      remaining = remaining.subtract(checked);
      this.launch(framework, target, info, checked, role);
    }
    this.m.offers.recover(framework.id, target.id, remaining, this.m.offers.refuseSeconds(accept.filters));
    return { ok: true };
  }

  /** Returns the task's resources, or why it cannot be launched. */
  private validateTask(
    framework: FrameworkRecord, agent: AgentRecord, info: TaskInfo, remaining: Resources, launching: Set<string>,
  ): Resources | string {
    const id = info.task_id.value;
    if (info.agent_id.value !== agent.id) return `task '${id}': agent_id '${info.agent_id.value}' is not the offers' agent '${agent.id}'`;
    if (framework.tasks.has(id) || launching.has(id)) return `task '${id}': task ID is already in use by this framework`;
    if (!info.command && !info.executor) return `task '${id}': needs a command or an executor`;
    if (info.command && info.executor) return `task '${id}': has both a command and an executor; give one`;
    if (info.command && info.command.shell && !info.command.value) return `task '${id}': command.value is empty`;
    let needs: Resources;
    try {
      needs = Resources.fromProto(info.resources);
    } catch (err) {
      return `task '${id}': resources: ${(err as Error).message}`;
    }
    if (needs.isEmpty()) return `task '${id}': resources must not be empty`;
    if (!remaining.contains(needs)) {
      return `task '${id}': needs ${needs.toString()} but the offers have ${remaining.toString()} left`;
    }
    return needs;
  }

  private launch(framework: FrameworkRecord, agent: AgentRecord, info: TaskInfo, resources: Resources, role: string): void {
    const status = this.masterStatus(info.task_id.value, agent.id, 'TASK_STAGING');
    const task: TaskRecord = {
      frameworkId: framework.id, agentId: agent.id, info, resources, role,
      state: 'TASK_STAGING', status, statuses: [status], seenUuids: new Set(), resourcesRecovered: false,
    };
    this.add(framework, agent, task);
    agent.connection?.send('run_task', { framework: framework.info, task: info });
    this.m.metrics.count('master/tasks_launched');
    this.m.events.emit('task', task, status);
  }

  add(framework: FrameworkRecord, agent: AgentRecord, task: TaskRecord): void {
    framework.tasks.set(task.info.task_id.value, task);
    agent.tasks.set(taskKey(framework.id, task.info.task_id.value), task);
  }

  /** An update from the task's agent: apply it once (by uuid), forward it every time. */
  statusUpdate(agent: AgentRecord, update: StatusUpdate): void {
    const { status } = update;
    const frameworkId = update.framework_id.value;
    if (status.agent_id.value !== agent.id) {
      this.m.metrics.count('master/invalid_status_updates');
      this.m.log.warn({ agent: agent.id, claimed: status.agent_id.value }, 'status update for another agent ignored');
      return;
    }
    const framework = this.m.frameworkRecords.get(frameworkId);
    if (!framework) {
      // A removed framework will never acknowledge: do it for it, so the agent stops resending.
      agent.connection?.send('acknowledge', { framework_id: update.framework_id, task_id: status.task_id, uuid: status.uuid });
      this.m.metrics.count('master/invalid_status_updates');
      return;
    }
    this.m.metrics.count('master/valid_status_updates');
    const task = framework.tasks.get(status.task_id.value);
    if (task && task.agentId === agent.id && !task.seenUuids.has(status.uuid)) this.apply(task, status);
    this.tell(framework, status);
  }

  private apply(task: TaskRecord, status: TaskStatus): void {
    if (status.uuid) {
      task.seenUuids.add(status.uuid);
      if (task.seenUuids.size > MAX_SEEN_UUIDS) task.seenUuids.delete(task.seenUuids.values().next().value as string);
    }
    const wasTerminal = isTerminal(task.state);
    task.state = status.state;
    task.status = status;
    task.statuses.push(status);
    if (task.statuses.length > MAX_STATUS_HISTORY) task.statuses.shift();
    if (isTerminal(status.state) && !wasTerminal) {
      task.terminalUuid = status.uuid;
      this.m.metrics.count(`master/${status.state.toLowerCase().replace('task_', 'tasks_')}`);
      this.recoverResources(task);
      this.m.offers.allocateSoon([task.agentId]);
    }
    this.m.events.emit('task', task, status);
  }

  recoverResources(task: TaskRecord): void {
    if (task.resourcesRecovered) return;
    task.resourcesRecovered = true;
    if (this.m.agentRecords.get(task.agentId)?.unreachable) return; // the allocator no longer has the agent
    this.m.offers.recover(task.frameworkId, task.agentId, task.resources);
  }

  /**
   * A state change the master observed itself (agent unreachable, re-registered): applied and
   * told to the framework without a uuid, since only the agent's own updates are acknowledged.
   */
  masterTransition(task: TaskRecord, state: TaskState, reason: string, message: string, observed?: TaskStatus): void {
    const status = observed
      ? { ...observed, uuid: undefined, reason, message, source: 'SOURCE_MASTER' as const }
      : this.masterStatus(task.info.task_id.value, task.agentId, state, reason, message);
    this.apply(task, status);
    const framework = this.m.frameworkRecords.get(task.frameworkId);
    if (framework) this.tell(framework, status);
  }

  /** The master ends a task itself (framework removed, agent lost) and tells the framework. */
  complete(task: TaskRecord, state: TaskState, reason: string, message: string): void {
    if (!isTerminal(task.state)) this.masterTransition(task, state, reason, message);
    this.retire(task);
  }

  /** Moves a finished task to its framework's completed list. */
  retire(task: TaskRecord): void {
    const framework = this.m.frameworkRecords.get(task.frameworkId);
    this.recoverResources(task);
    this.m.agentRecords.get(task.agentId)?.tasks.delete(taskKey(task.frameworkId, task.info.task_id.value));
    if (!framework || framework.tasks.get(task.info.task_id.value) !== task) return;
    framework.tasks.delete(task.info.task_id.value);
    framework.completedTasks.push(task);
    if (framework.completedTasks.length > this.m.options.maxCompletedTasks) framework.completedTasks.shift();
  }

  acknowledge(framework: FrameworkRecord, ack: CallOf<'ACKNOWLEDGE'>['acknowledge']): CallAck {
    const agent = this.m.agentRecords.get(ack.agent_id.value);
    if (!agent) return { ok: false, error: `acknowledge.agent_id: unknown agent '${ack.agent_id.value}'` };
    const task = framework.tasks.get(ack.task_id.value);
    if (task && task.agentId !== agent.id) {
      return { ok: false, error: `acknowledge.agent_id: task '${ack.task_id.value}' is not on agent '${agent.id}'` };
    }
    // Forwarded even for tasks already completed: the agent may be resending an update whose
    // earlier acknowledgement was lost.
    agent.connection?.send('acknowledge', { framework_id: { value: framework.id }, task_id: ack.task_id, uuid: ack.uuid });
    if (task && task.terminalUuid === ack.uuid) this.retire(task);
    return { ok: true };
  }

  kill(framework: FrameworkRecord, kill: CallOf<'KILL'>['kill']): CallAck {
    const task = framework.tasks.get(kill.task_id.value);
    if (!task) {
      const state = partitionAware(framework) ? 'TASK_UNKNOWN' : 'TASK_LOST';
      this.tell(framework, this.masterStatus(kill.task_id.value, kill.agent_id?.value, state, 'REASON_RECONCILIATION', 'Attempted to kill an unknown task'));
      return { ok: true };
    }
    if (isTerminal(task.state)) return { ok: true };
    const agent = this.m.agentRecords.get(task.agentId);
    if (!agent?.connection) {
      return { ok: false, error: `kill.task_id: task '${task.info.task_id.value}' is on agent '${task.agentId}', which is not connected; retry when it is` };
    }
    agent.connection.send('kill_task', {
      framework_id: { value: framework.id },
      task_id: kill.task_id,
      ...(kill.kill_policy ?? task.info.kill_policy ? { kill_policy: kill.kill_policy ?? task.info.kill_policy } : {}),
    });
    return { ok: true };
  }

  /** RECONCILE: explicit (named tasks) or implicit (all of the framework's tasks). */
  reconcile(framework: FrameworkRecord, tasks: CallOf<'RECONCILE'>['reconcile']['tasks']): CallAck {
    const reply = (task: TaskRecord) =>
      this.tell(framework, { ...task.status, uuid: undefined, reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER' });
    if (tasks.length === 0) {
      for (const task of framework.tasks.values()) reply(task);
      return { ok: true };
    }
    for (const { task_id, agent_id } of tasks) {
      const task = framework.tasks.get(task_id.value);
      if (task && (!agent_id || agent_id.value === task.agentId)) {
        reply(task);
        continue;
      }
      const done = framework.completedTasks.findLast((t) => t.info.task_id.value === task_id.value);
      if (done && (!agent_id || agent_id.value === done.agentId)) {
        reply(done);
        continue;
      }
      const state = partitionAware(framework) ? 'TASK_UNKNOWN' : 'TASK_LOST';
      this.tell(framework, this.masterStatus(task_id.value, agent_id?.value, state, 'REASON_RECONCILIATION', 'Reconciliation: task is unknown to the master'));
    }
    return { ok: true };
  }
}
