// GET /master/state and the gauges of /metrics/snapshot, shaped as Mesos writes them so tools
// built for Mesos' endpoints (and people who know them) read Agora's unchanged.
import { Resources } from '../core/resources.ts';
import type { Attribute, TaskStatus } from '../protocol/messages.ts';
import type { Master } from './master.ts';
import type { AgentRecord, FrameworkRecord, TaskRecord } from './records.ts';

function attributesFlat(attributes: Attribute[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const a of attributes) {
    if (a.type === 'TEXT') out[a.name] = a.text?.value ?? '';
    else if (a.type === 'SCALAR') out[a.name] = a.scalar?.value ?? 0;
    else if (a.type === 'RANGES') out[a.name] = `[${(a.ranges?.range ?? []).map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
    else out[a.name] = `{${(a.set?.item ?? []).join(', ')}}`;
  }
  return out;
}

const sum = (list: Iterable<Resources>): Resources => {
  let total = Resources.empty();
  for (const r of list) total = total.add(r);
  return total;
};

function statusJson(s: TaskStatus) {
  return { state: s.state, timestamp: s.timestamp, ...(s.reason ? { reason: s.reason } : {}), ...(s.message ? { message: s.message } : {}) };
}

export function taskJson(t: TaskRecord) {
  return {
    id: t.info.task_id.value,
    name: t.info.name,
    framework_id: t.frameworkId,
    executor_id: t.info.executor?.executor_id.value ?? '',
    slave_id: t.agentId,
    agent_id: t.agentId,
    state: t.state,
    role: t.role,
    resources: t.resources.toFlat(),
    statuses: t.statuses.map(statusJson),
    ...(t.info.labels ? { labels: t.info.labels.labels } : {}),
  };
}

const liveTasks = (tasks: Iterable<TaskRecord>) => [...tasks].filter((t) => !t.resourcesRecovered);

export function agentJson(m: Master, a: AgentRecord) {
  const used = sum(liveTasks(a.tasks.values()).map((t) => t.resources));
  const offered = sum([...a.offers].flatMap((id) => m.offerRecords.get(id)?.resources ?? []));
  return {
    id: a.id,
    pid: `slave(1)@${a.address.ip}:${a.address.port}`,
    hostname: a.hostname,
    port: a.address.port,
    registered_time: a.registeredTime,
    ...(a.reregisteredTime ? { reregistered_time: a.reregisteredTime } : {}),
    resources: a.resources.toFlat(),
    used_resources: used.toFlat(),
    offered_resources: offered.toFlat(),
    unreserved_resources: a.resources.toFlat(),
    attributes: attributesFlat(a.attributes),
    active: a.active,
    unreachable: a.unreachable,
    version: a.version ?? '',
  };
}

export function frameworkJson(m: Master, f: FrameworkRecord) {
  const used = sum(liveTasks(f.tasks.values()).map((t) => t.resources));
  const offers = [...f.offers].flatMap((id) => m.offerRecords.get(id) ?? []);
  const offered = sum(offers.map((o) => o.resources));
  return {
    id: f.id,
    name: f.info.name,
    user: f.info.user,
    role: f.roles[0],
    roles: f.roles,
    active: f.active,
    connected: Boolean(f.connection),
    recovered: f.recovered,
    hostname: f.info.hostname ?? '',
    webui_url: f.info.webui_url ?? '',
    failover_timeout: f.info.failover_timeout ?? 0,
    capabilities: (f.info.capabilities ?? []).map((c) => c.type),
    registered_time: f.registeredTime,
    ...(f.reregisteredTime ? { reregistered_time: f.reregisteredTime } : {}),
    unregistered_time: f.unregisteredTime ?? 0,
    dominant_share: m.allocator.hasFramework(f.id) ? m.allocator.frameworkShare(f.id) : 0,
    resources: used.add(offered).toFlat(),
    used_resources: used.toFlat(),
    offered_resources: offered.toFlat(),
    tasks: [...f.tasks.values()].map(taskJson),
    completed_tasks: f.completedTasks.map(taskJson),
    offers: offers.map((o) => ({ id: o.id, framework_id: o.frameworkId, slave_id: o.agentId, resources: o.resources.toFlat() })),
    executors: [],
  };
}

export function masterState(m: Master) {
  const agents = [...m.agentRecords.values()];
  return {
    version: m.masterInfo.version,
    id: m.id,
    pid: `master@${m.masterInfo.address?.ip ?? '127.0.0.1'}:${m.masterInfo.port}`,
    hostname: m.masterInfo.hostname,
    start_time: m.startTime,
    elected_time: m.startTime,
    activated_slaves: agents.filter((a) => a.active).length,
    deactivated_slaves: agents.filter((a) => !a.active && !a.unreachable).length,
    unreachable_slaves: agents.filter((a) => a.unreachable).length,
    slaves: agents.filter((a) => !a.unreachable).map((a) => agentJson(m, a)),
    unreachable: agents.filter((a) => a.unreachable).map((a) => agentJson(m, a)),
    frameworks: [...m.frameworkRecords.values()].map((f) => frameworkJson(m, f)),
    completed_frameworks: m.frameworks.completed.map(({ record, removedTime, reason }) => ({
      ...frameworkJson(m, record), active: false, unregistered_time: removedTime, removal_reason: reason,
    })),
    unregistered_frameworks: [],
  };
}

/** Mesos' gauges: agents, frameworks, tasks by state, resources total/used/percent. */
export function metricsSnapshot(m: Master): Record<string, number> {
  const agents = [...m.agentRecords.values()];
  const frameworks = [...m.frameworkRecords.values()];
  const out: Record<string, number> = {
    'master/uptime_secs': Math.round(Date.now() / 1000 - m.startTime),
    'master/elected': 1,
    'master/slaves_active': agents.filter((a) => a.active).length,
    'master/slaves_inactive': agents.filter((a) => !a.active).length,
    'master/slaves_connected': agents.filter((a) => a.connection).length,
    'master/slaves_disconnected': agents.filter((a) => !a.connection).length,
    'master/slaves_unreachable': agents.filter((a) => a.unreachable).length,
    'master/frameworks_active': frameworks.filter((f) => f.active).length,
    'master/frameworks_inactive': frameworks.filter((f) => !f.active).length,
    'master/frameworks_connected': frameworks.filter((f) => f.connection).length,
    'master/frameworks_disconnected': frameworks.filter((f) => !f.connection).length,
    'master/outstanding_offers': m.offerRecords.size,
  };
  for (const state of ['staging', 'starting', 'running', 'killing', 'unreachable']) out[`master/tasks_${state}`] = 0;
  for (const f of frameworks) for (const t of f.tasks.values()) {
    const key = `master/${t.state.toLowerCase().replace('task_', 'tasks_')}`;
    if (key in out) out[key]++;
  }
  for (const terminal of ['finished', 'failed', 'killed', 'lost', 'error', 'dropped', 'gone']) {
    out[`master/tasks_${terminal}`] = m.metrics.get(`master/tasks_${terminal}`);
  }
  const reachable = agents.filter((a) => !a.unreachable);
  const total = sum(reachable.map((a) => a.resources));
  const used = sum(reachable.flatMap((a) => liveTasks(a.tasks.values()).map((t) => t.resources)));
  for (const name of ['cpus', 'mem', 'disk', 'gpus']) {
    const t = total.scalar(name);
    const u = used.scalar(name);
    out[`master/${name}_total`] = t;
    out[`master/${name}_used`] = u;
    out[`master/${name}_percent`] = t > 0 ? u / t : 0;
  }
  return { ...m.metrics.snapshot(), ...out };
}
