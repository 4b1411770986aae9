// What the master keeps in memory about frameworks, agents, tasks and offers. Only frameworks and
// agents' identities are persisted (registry.ts); tasks are rebuilt from agents' re-registration.
import type { Resources } from '../core/resources.ts';
import type {
  Attribute, Event, FrameworkInfo, ID, MasterToAgent, TaskInfo, TaskState, TaskStatus,
} from '../protocol/messages.ts';

/** The scheduler side of a subscribed framework (a socket.io connection or the plugin host). */
export interface SchedulerConnection {
  readonly id: string;
  send(event: Event): void;
  /** Ends the connection after delivering pending events (failover, teardown). */
  close(reason: string): void;
}

/** The master's side of an agent link. */
export interface AgentConnection {
  readonly id: string;
  send<E extends keyof MasterToAgent>(event: E, ...args: Parameters<MasterToAgent[E]>): void;
  /** Resolves true when the agent answered within the timeout. */
  ping(timeoutMs: number): Promise<boolean>;
  close(reason: string): void;
}

export interface TaskRecord {
  readonly frameworkId: string;
  readonly agentId: string;
  readonly info: TaskInfo;
  readonly resources: Resources;
  readonly role: string;
  state: TaskState;
  /** Latest status (what reconciliation answers), and a bounded history for the UI. */
  status: TaskStatus;
  statuses: TaskStatus[];
  /** uuids of status updates already applied: a resent update is forwarded again, not re-applied. */
  seenUuids: Set<string>;
  /** uuid of the terminal update, once received: its acknowledgement completes the task. */
  terminalUuid?: string;
  /** Resources were given back to the allocator (terminal, or agent removed). */
  resourcesRecovered: boolean;
}

export interface FrameworkRecord {
  readonly id: string;
  info: FrameworkInfo & { id: ID };
  roles: string[];
  connection: SchedulerConnection | null;
  /** Subscribed and connected; inactive frameworks get no offers. */
  active: boolean;
  /** Known only from a restarted registry or an agent's report; not subscribed since. */
  recovered: boolean;
  registeredTime: number;
  reregisteredTime?: number;
  unregisteredTime?: number;
  failoverTimer?: NodeJS.Timeout;
  heartbeatTimer?: NodeJS.Timeout;
  tasks: Map<string, TaskRecord>;
  completedTasks: TaskRecord[];
  offers: Set<string>;
  suppressedRoles: Set<string>;
}

export interface AgentRecord {
  readonly id: string;
  hostname: string;
  address: { ip: string; port: number };
  resources: Resources;
  attributes: Attribute[];
  version?: string;
  connection: AgentConnection | null;
  /** Connected and registered: its resources are offered. */
  active: boolean;
  /** Stopped answering for longer than the ping timeout; tasks are TASK_UNREACHABLE. */
  unreachable: boolean;
  registeredTime: number;
  reregisteredTime?: number;
  unreachableTime?: number;
  /** Tasks by `${frameworkId}/${taskId}`. */
  tasks: Map<string, TaskRecord>;
  offers: Set<string>;
  pingTimer?: NodeJS.Timeout;
  disconnectTimer?: NodeJS.Timeout;
  removalTimer?: NodeJS.Timeout;
  /** Tasks reported TASK_LOST after removal; if the agent comes back they are killed there. */
  lostTasks: Set<string>;
}

export interface OfferRecord {
  readonly id: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly role: string;
  readonly resources: Resources;
  readonly createdAt: number;
  timer?: NodeJS.Timeout;
}

export const taskKey = (frameworkId: string, taskId: string): string => `${frameworkId}/${taskId}`;
