// Frameworks: SUBSCRIBE (new, or failover with a framework_id), disconnection and the failover
// timeout, TEARDOWN and removal. What must stay true: one connection per framework (a failover
// closes the old one); a removed framework's ID is never accepted again; a disconnected framework
// keeps its tasks for its failover_timeout.
import type { CallOf, FrameworkInfo } from '../protocol/messages.ts';
import type { Master } from './master.ts';
import type { FrameworkRecord, SchedulerConnection } from './records.ts';

export type SubscribeResult = { ok: true; frameworkId: string } | { ok: false; error: string };

const MAX_COMPLETED_FRAMEWORKS = 100;
const ROLE = /^(\*|[A-Za-z0-9_][A-Za-z0-9_.\-]*(\/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*)$/;

/** Mesos: `roles` with the MULTI_ROLE capability, else the single (deprecated) `role`, else '*'. */
export function frameworkRoles(info: FrameworkInfo): string[] {
  if (info.roles && info.roles.length > 0) return [...new Set(info.roles)];
  return [info.role ?? '*'];
}

export class Frameworks {
  private readonly m: Master;
  /** Removed frameworks, newest last, for /master/state's completed_frameworks. */
  readonly completed: Array<{ record: FrameworkRecord; removedTime: number; reason: string }> = [];

  constructor(master: Master) {
    this.m = master;
  }

  get(id: string): FrameworkRecord | undefined {
    return this.m.frameworkRecords.get(id);
  }

  byConnection(conn: SchedulerConnection): FrameworkRecord | undefined {
    for (const f of this.m.frameworkRecords.values()) if (f.connection === conn) return f;
    return undefined;
  }

  /** After a master restart: frameworks from the registry wait (inactive) for their schedulers. */
  recover(): void {
    for (const saved of this.m.registry.frameworks) {
      const record = this.ensure(saved.id, saved.info);
      record.registeredTime = saved.registered_time;
      this.startFailoverTimer(record, Math.max(this.failoverMs(record), this.m.options.frameworkRecoveryGraceMs));
    }
  }

  /** A framework known only from its tasks (an agent re-registered) or the registry. */
  ensure(id: string, info?: FrameworkInfo): FrameworkRecord {
    let record = this.m.frameworkRecords.get(id);
    if (record) return record;
    const fullInfo = { ...(info ?? { user: '', name: id }), id: { value: id } };
    record = {
      id,
      info: fullInfo,
      roles: frameworkRoles(fullInfo),
      connection: null,
      active: false,
      recovered: true,
      registeredTime: Date.now() / 1000,
      tasks: new Map(),
      completedTasks: [],
      offers: new Set(),
      suppressedRoles: new Set(),
    };
    this.m.frameworkRecords.set(id, record);
    this.m.allocator.addFramework(id, record.roles, { active: false });
    return record;
  }

  async subscribe(conn: SchedulerConnection, call: CallOf<'SUBSCRIBE'>): Promise<SubscribeResult> {
    const info = call.subscribe.framework_info;
    const claimed = call.framework_id?.value;
    if (claimed && info.id && info.id.value !== claimed) {
      return { ok: false, error: 'subscribe.framework_info.id: must equal framework_id' };
    }
    const id = claimed ?? info.id?.value;
    const roles = frameworkRoles(info);
    const badRole = roles.find((r) => !ROLE.test(r) || r.length > 256);
    if (badRole !== undefined) return { ok: false, error: `subscribe.framework_info.roles: invalid role '${badRole}'` };
    const bound = this.byConnection(conn);
    if (bound && bound.id !== id) {
      return { ok: false, error: `this connection is already subscribed as framework ${bound.id}` };
    }
    if (id && this.m.registry.isRemovedFramework(id)) {
      return { ok: false, error: `framework ${id} has been removed; subscribe without a framework_id to register anew` };
    }
    if (this.m.isStopped) return { ok: false, error: 'master is shutting down' };

    const existing = id ? this.m.frameworkRecords.get(id) : undefined;
    const frameworkId = id ?? this.m.nextId('framework');
    const record = existing ?? this.ensure(frameworkId, info);
    if (existing) this.failover(record, conn);

    record.info = { ...info, id: { value: frameworkId } };
    if (roles.join() !== record.roles.join()) {
      // Mesos lets a framework change roles when it re-subscribes; what it holds stays accounted.
      this.m.offers.rescindFramework(record, false);
      record.roles = roles;
    }
    record.connection = conn;
    record.active = true;
    record.recovered = false;
    record.suppressedRoles = new Set(call.subscribe.suppressed_roles ?? []);
    if (existing) record.reregisteredTime = Date.now() / 1000;
    else record.registeredTime = Date.now() / 1000;
    record.unregisteredTime = undefined;
    clearTimeout(record.failoverTimer);
    record.failoverTimer = undefined;

    // Durable before SUBSCRIBED: a framework told its ID must find it again after a master restart.
    await this.m.registry.addFramework({ id: frameworkId, info: record.info, registered_time: record.registeredTime });
    if (record.connection !== conn) return { ok: false, error: 'superseded by a newer subscription' };

    this.m.allocator.updateFramework(frameworkId, roles, [...record.suppressedRoles]);
    this.m.allocator.revive(frameworkId, roles.filter((r) => !record.suppressedRoles.has(r)));
    this.m.allocator.activateFramework(frameworkId);
    conn.send({
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: { value: frameworkId },
        heartbeat_interval_seconds: this.m.options.heartbeatIntervalMs / 1000,
        master_info: this.m.masterInfo,
      },
    });
    clearInterval(record.heartbeatTimer);
    record.heartbeatTimer = setInterval(() => record.connection?.send({ type: 'HEARTBEAT' }), this.m.options.heartbeatIntervalMs);
    this.m.log.info({ framework: frameworkId, name: info.name, failover: Boolean(existing) }, 'framework subscribed');
    this.m.events.emit('framework', record);
    this.m.offers.allocateSoon();
    return { ok: true, frameworkId };
  }

  /** A scheduler re-subscribed: the old connection is told and closed; its offers are rescinded. */
  private failover(record: FrameworkRecord, conn: SchedulerConnection): void {
    const old = record.connection;
    if (old && old !== conn) {
      old.send({ type: 'ERROR', error: { message: 'Framework failed over' } });
      old.close('framework failed over');
    }
    this.m.offers.rescindFramework(record, true);
  }

  disconnected(conn: SchedulerConnection): void {
    const record = this.byConnection(conn);
    if (!record || this.m.isStopped) return; // a stopping master closes every socket itself
    record.connection = null;
    record.active = false;
    record.unregisteredTime = Date.now() / 1000;
    clearInterval(record.heartbeatTimer);
    this.m.allocator.deactivateFramework(record.id);
    this.m.offers.rescindFramework(record, false);
    this.startFailoverTimer(record, this.failoverMs(record));
    this.m.log.info({ framework: record.id, failover_timeout_s: this.failoverMs(record) / 1000 }, 'framework disconnected');
    this.m.events.emit('framework', record);
  }

  private failoverMs(record: FrameworkRecord): number {
    return (record.info.failover_timeout ?? 0) * 1000;
  }

  private startFailoverTimer(record: FrameworkRecord, ms: number): void {
    clearTimeout(record.failoverTimer);
    // setTimeout's limit is 2^31-1 ms (~24 days); longer timeouts are clamped to it.
    record.failoverTimer = setTimeout(() => {
      if (!record.connection) this.remove(record, 'failover timeout elapsed');
    }, Math.min(ms, 2 ** 31 - 1));
  }

  /** TEARDOWN, an expired failover timeout: kill its tasks everywhere and forget it. */
  remove(record: FrameworkRecord, reason: string): void {
    if (!this.m.frameworkRecords.has(record.id)) return;
    clearTimeout(record.failoverTimer);
    clearInterval(record.heartbeatTimer);
    this.m.offers.rescindFramework(record, false);
    const agents = new Set<string>();
    for (const task of [...record.tasks.values()]) {
      agents.add(task.agentId);
      this.m.tasks.complete(task, 'TASK_KILLED', 'REASON_FRAMEWORK_REMOVED', `Framework removed: ${reason}`);
    }
    for (const agentId of agents) {
      this.m.agentRecords.get(agentId)?.connection?.send('shutdown_framework', { framework_id: { value: record.id } });
    }
    this.m.allocator.removeFramework(record.id);
    this.m.frameworkRecords.delete(record.id);
    record.active = false;
    this.completed.push({ record, removedTime: Date.now() / 1000, reason });
    if (this.completed.length > MAX_COMPLETED_FRAMEWORKS) this.completed.shift();
    void this.m.registry.removeFramework(record.id).catch((err) => this.m.log.error({ err }, 'registry write failed'));
    const conn = record.connection;
    record.connection = null;
    conn?.close(`framework removed: ${reason}`);
    this.m.log.info({ framework: record.id, reason }, 'framework removed');
    this.m.events.emit('framework', record);
  }
}
