// The one closed set of messages Agora speaks: Mesos v1 JSON (snake_case, IDs as {value}) for
// schedulers, plus the internal master <-> agent link. Every boundary (socket.io, HTTP, sandbox)
// validates inbound data with these schemas before it reaches the core; the types are inferred
// from the schemas so there is exactly one definition of each message.
//
// Reference: include/mesos/v1/mesos.proto and include/mesos/v1/scheduler/scheduler.proto.
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Identifiers. Mesos' rules (src/common/validation.cpp): non-empty, no '/' or '\', no control
// characters or whitespace, bounded. IDs reach paths (sandboxes), commands' env and logs.
export const MAX_ID_LENGTH = 256;
export const idValue = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((s) => !/[\/\\\s\x00-\x1f\x7f]/.test(s) && s !== '.' && s !== '..', {
    message: "must not contain '/', '\\', whitespace or control characters, nor be '.' or '..'",
  });
export const ID = z.object({ value: idValue });
export type ID = z.infer<typeof ID>;

// ---------------------------------------------------------------------------------------------
// Resources and attributes.
export const Scalar = z.object({ value: z.number().finite() });
export const Range = z.object({ begin: z.number().int().nonnegative(), end: z.number().int().nonnegative() });
export const Ranges = z.object({ range: z.array(Range).default([]) });
export const ValueSet = z.object({ item: z.array(z.string()).default([]) });
export const ValueText = z.object({ value: z.string() });

export const Resource = z.object({
  name: z.string().min(1).max(128),
  type: z.enum(['SCALAR', 'RANGES', 'SET']),
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  role: z.string().optional(), // deprecated in Mesos, kept for compatibility; '*' when unreserved
  allocation_info: z.object({ role: z.string() }).optional(),
});
export type Resource = z.infer<typeof Resource>;

export const Attribute = z.object({
  name: z.string().min(1).max(128),
  type: z.enum(['SCALAR', 'RANGES', 'SET', 'TEXT']),
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  text: ValueText.optional(),
});
export type Attribute = z.infer<typeof Attribute>;

export const Label = z.object({ key: z.string(), value: z.string().optional() });
export const Labels = z.object({ labels: z.array(Label).default([]) });

// ---------------------------------------------------------------------------------------------
// Frameworks, tasks, executors.
export const FrameworkCapability = z.object({ type: z.string() });
export const FrameworkInfo = z.object({
  user: z.string().default(''),
  name: z.string().min(1).max(256),
  id: ID.optional(),
  failover_timeout: z.number().nonnegative().optional(), // seconds; Mesos' default is 0
  checkpoint: z.boolean().optional(),
  role: z.string().optional(),
  roles: z.array(z.string()).optional(),
  hostname: z.string().optional(),
  principal: z.string().optional(),
  webui_url: z.string().optional(),
  capabilities: z.array(FrameworkCapability).optional(),
  labels: Labels.optional(),
});
export type FrameworkInfo = z.infer<typeof FrameworkInfo>;

export const EnvironmentVariable = z.object({ name: z.string().min(1), value: z.string().default('') });
export const CommandInfo = z.object({
  shell: z.boolean().default(true),
  value: z.string().optional(),
  arguments: z.array(z.string()).optional(),
  environment: z.object({ variables: z.array(EnvironmentVariable).default([]) }).optional(),
  user: z.string().optional(),
  uris: z.array(z.object({ value: z.string() }).passthrough()).optional(),
});
export type CommandInfo = z.infer<typeof CommandInfo>;

export const DurationInfo = z.object({ nanoseconds: z.number().int().nonnegative() });
export const KillPolicy = z.object({ grace_period: DurationInfo.optional() });
export type KillPolicy = z.infer<typeof KillPolicy>;

export const ExecutorInfo = z.object({
  executor_id: ID,
  framework_id: ID.optional(),
  type: z.enum(['DEFAULT', 'CUSTOM']).optional(),
  name: z.string().optional(),
  source: z.string().optional(),
  command: CommandInfo.optional(),
  resources: z.array(Resource).optional(),
  data: z.string().optional(),
  labels: Labels.optional(),
});
export type ExecutorInfo = z.infer<typeof ExecutorInfo>;

export const TaskInfo = z.object({
  name: z.string().max(1024),
  task_id: ID,
  agent_id: ID,
  resources: z.array(Resource).default([]),
  executor: ExecutorInfo.optional(),
  command: CommandInfo.optional(),
  data: z.string().optional(), // base64
  kill_policy: KillPolicy.optional(),
  labels: Labels.optional(),
  container: z.unknown().optional(),
  health_check: z.unknown().optional(),
  discovery: z.unknown().optional(),
});
export type TaskInfo = z.infer<typeof TaskInfo>;

export const TASK_STATES = [
  'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_FAILED',
  'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_UNREACHABLE', 'TASK_GONE',
  'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN',
] as const;
export const TaskState = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskState>;

const TERMINAL = new Set<TaskState>([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED',
  'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
]);
/** Terminal states free the task's resources; TASK_UNREACHABLE is not terminal (it may come back). */
export const isTerminal = (s: TaskState): boolean => TERMINAL.has(s);

export const TaskStatus = z.object({
  task_id: ID,
  state: TaskState,
  message: z.string().max(4096).optional(),
  source: z.enum(['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR']).optional(),
  reason: z.string().optional(), // a Mesos TaskStatus.Reason name, e.g. REASON_COMMAND_EXECUTOR_FAILED
  data: z.string().optional(),
  agent_id: ID.optional(),
  executor_id: ID.optional(),
  timestamp: z.number().optional(), // seconds since the epoch, as Mesos writes it
  uuid: z.string().optional(), // base64; present iff the update must be acknowledged
  healthy: z.boolean().optional(),
  labels: Labels.optional(),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

export const Filters = z.object({ refuse_seconds: z.number().nonnegative().finite().optional() });
export type Filters = z.infer<typeof Filters>;

export const Offer = z.object({
  id: ID,
  framework_id: ID,
  agent_id: ID,
  hostname: z.string(),
  url: z.unknown().optional(),
  resources: z.array(Resource),
  attributes: z.array(Attribute).default([]),
  executor_ids: z.array(ID).default([]),
  allocation_info: z.object({ role: z.string() }).optional(),
});
export type Offer = z.infer<typeof Offer>;

export const Operation = z.object({
  type: z.string(),
  id: ID.optional(),
  launch: z.object({ task_infos: z.array(TaskInfo).default([]) }).optional(),
});
export type Operation = z.infer<typeof Operation>;

export const MasterInfo = z.object({
  id: z.string(),
  ip: z.number().optional(),
  port: z.number(),
  hostname: z.string().optional(),
  version: z.string().optional(),
  address: z.object({ hostname: z.string().optional(), ip: z.string().optional(), port: z.number() }).optional(),
});
export type MasterInfo = z.infer<typeof MasterInfo>;

export const AgentInfo = z.object({
  id: ID.optional(),
  hostname: z.string().min(1).max(256),
  port: z.number().int().optional(),
  resources: z.array(Resource).default([]),
  attributes: z.array(Attribute).default([]),
});
export type AgentInfo = z.infer<typeof AgentInfo>;

// ---------------------------------------------------------------------------------------------
// Scheduler Calls (v1 scheduler.proto, Call). framework_id is required on every call but SUBSCRIBE.
const frameworkCall = <T extends string, S extends z.ZodRawShape>(type: T, body: S) =>
  z.object({ type: z.literal(type), framework_id: ID, ...body });

export const Call = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('SUBSCRIBE'),
    framework_id: ID.optional(),
    subscribe: z.object({ framework_info: FrameworkInfo, suppressed_roles: z.array(z.string()).optional() }),
  }),
  frameworkCall('TEARDOWN', {}),
  frameworkCall('ACCEPT', {
    accept: z.object({ offer_ids: z.array(ID).min(1), operations: z.array(Operation).default([]), filters: Filters.optional() }),
  }),
  frameworkCall('DECLINE', { decline: z.object({ offer_ids: z.array(ID).min(1), filters: Filters.optional() }) }),
  frameworkCall('REVIVE', { revive: z.object({ roles: z.array(z.string()).optional() }).optional() }),
  frameworkCall('SUPPRESS', { suppress: z.object({ roles: z.array(z.string()).optional() }).optional() }),
  frameworkCall('KILL', { kill: z.object({ task_id: ID, agent_id: ID.optional(), kill_policy: KillPolicy.optional() }) }),
  frameworkCall('SHUTDOWN', { shutdown: z.object({ executor_id: ID, agent_id: ID }) }),
  frameworkCall('ACKNOWLEDGE', { acknowledge: z.object({ agent_id: ID, task_id: ID, uuid: z.string().min(1) }) }),
  frameworkCall('RECONCILE', {
    reconcile: z.object({ tasks: z.array(z.object({ task_id: ID, agent_id: ID.optional() })).default([]) }).default({ tasks: [] }),
  }),
  frameworkCall('MESSAGE', { message: z.object({ agent_id: ID, executor_id: ID, data: z.string() }) }),
  frameworkCall('REQUEST', { requests: z.object({ requests: z.array(z.unknown()).default([]) }).default({ requests: [] }) }),
]);
export type Call = z.infer<typeof Call>;
export type CallType = Call['type'];
export type CallOf<T extends CallType> = Extract<Call, { type: T }>;

// ---------------------------------------------------------------------------------------------
// Scheduler Events (v1 scheduler.proto, Event). Outbound only, so plain types suffice.
export type Event =
  | { type: 'SUBSCRIBED'; subscribed: { framework_id: ID; heartbeat_interval_seconds: number; master_info: MasterInfo } }
  | { type: 'OFFERS'; offers: { offers: Offer[] } }
  | { type: 'RESCIND'; rescind: { offer_id: ID } }
  | { type: 'UPDATE'; update: { status: TaskStatus } }
  | { type: 'MESSAGE'; message: { agent_id: ID; executor_id: ID; data: string } }
  | { type: 'FAILURE'; failure: { agent_id?: ID; executor_id?: ID; status?: number } }
  | { type: 'ERROR'; error: { message: string } }
  | { type: 'HEARTBEAT' };
export type EventType = Event['type'];

/** Answer to every socket.io call: success, or an error naming what was wrong. */
export type CallAck = { ok: true } | { ok?: false; error: string; code?: string };

// socket.io /scheduler namespace: one typed event map shared by server and clients.
export interface SchedulerClientToServer {
  call(call: unknown, ack: (answer: CallAck) => void): void;
}
export interface SchedulerServerToClient {
  event(event: Event): void;
}

// ---------------------------------------------------------------------------------------------
// The master <-> agent link (socket.io /agent). Internal, but validated like any other boundary:
// an agent is a separate process and may be of another version.

/** A task as the agent knows it; sent on (re-)registration so a restarted master rebuilds its view. */
export const AgentTask = z.object({
  framework_id: ID,
  framework_info: FrameworkInfo.optional(),
  task: TaskInfo,
  state: TaskState,
  /** The latest status the agent has for this task (acknowledged or not). */
  status: TaskStatus.optional(),
});
export type AgentTask = z.infer<typeof AgentTask>;

export const RegisterAgent = z.object({
  agent_id: ID.optional(), // absent on first start; the master assigns one
  hostname: z.string().min(1).max(256),
  /** Where the agent's HTTP server (files API) listens, as seen from the master. */
  address: z.object({ ip: z.string(), port: z.number().int().min(0).max(65535) }),
  resources: z.array(Resource),
  attributes: z.array(Attribute).default([]),
  tasks: z.array(AgentTask).default([]),
  version: z.string().optional(),
});
export type RegisterAgent = z.infer<typeof RegisterAgent>;
export type RegisterAgentAck = { ok: true; agent_id: string; master_id: string } | { ok?: false; error: string };

/** A status update as it travels agent -> master; status.uuid is always set on this path. */
export const StatusUpdate = z.object({
  framework_id: ID,
  status: TaskStatus.extend({ uuid: z.string().min(1), agent_id: ID }),
});
export type StatusUpdate = z.infer<typeof StatusUpdate>;

export interface AgentToMaster {
  register(msg: RegisterAgent, ack: (answer: RegisterAgentAck) => void): void;
  status_update(update: StatusUpdate): void;
  /** An executor's message for its scheduler (FrameworkMessage). */
  executor_message(msg: { framework_id: ID; executor_id: ID; data: string }): void;
}

export interface MasterToAgent {
  run_task(msg: { framework: FrameworkInfo & { id: ID }; task: TaskInfo }): void;
  kill_task(msg: { framework_id: ID; task_id: ID; kill_policy?: KillPolicy }): void;
  /** The framework acknowledged this update: the agent stops resending it. */
  acknowledge(msg: { framework_id: ID; task_id: ID; uuid: string }): void;
  /** The framework was torn down (or its failover timeout passed): kill all its tasks. */
  shutdown_framework(msg: { framework_id: ID }): void;
  framework_message(msg: { framework_id: ID; executor_id: ID; data: string }): void;
  /** Liveness probe; the agent answers through the ack. */
  ping(ack: (answer: { ok: true }) => void): void;
}
