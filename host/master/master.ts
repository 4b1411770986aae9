// The master's state and the services that change it. Each concept has its own file and works on
// this shared state: frameworks.ts (subscribe, failover, teardown), agents.ts (registration,
// liveness), offers.ts (allocation cycles, offers, rescinds), tasks.ts (launches, status updates,
// kills, acknowledgements, reconciliation). The network adapters (scheduler-api.ts, agent-api.ts,
// http.ts) only translate between their transport and these services.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Allocator } from '../core/allocator.ts';
import type { Logger } from '../common/log.ts';
import type { MasterInfo, TaskStatus } from '../protocol/messages.ts';
import type { AgentRecord, FrameworkRecord, OfferRecord, TaskRecord } from './records.ts';
import type { Registry } from './registry.ts';
import { Frameworks } from './frameworks.ts';
import { Agents } from './agents.ts';
import { Offers } from './offers.ts';
import { Tasks } from './tasks.ts';
import { Metrics } from './metrics.ts';

export interface MasterOptions {
  /** An agent silent this long is unreachable; its tasks go TASK_UNREACHABLE. */
  agentPingTimeoutMs: number;
  /** An unreachable agent is removed after this long; its tasks go TASK_LOST. */
  agentRemovalTimeoutMs: number;
  /** Offers not answered within this time are rescinded; 0 keeps them until used. */
  offerTimeoutMs: number;
  allocationIntervalMs: number;
  heartbeatIntervalMs: number;
  /** Filter applied to declined or unused offered resources when the call names none (Mesos: 5 s). */
  defaultRefuseSeconds: number;
  /** After a master restart, frameworks from the registry get at least this long to re-subscribe. */
  frameworkRecoveryGraceMs: number;
  /** Completed tasks kept per framework for state and the dashboard. */
  maxCompletedTasks: number;
  weights: Record<string, number>;
}

export const DEFAULT_MASTER_OPTIONS: MasterOptions = {
  agentPingTimeoutMs: 15_000,
  agentRemovalTimeoutMs: 15_000,
  offerTimeoutMs: 0,
  allocationIntervalMs: 1000,
  heartbeatIntervalMs: 15_000,
  defaultRefuseSeconds: 5,
  frameworkRecoveryGraceMs: 60_000,
  maxCompletedTasks: 1000,
  weights: {},
};

/** What observers (the dashboard, tests) can listen to. */
export interface MasterEvents {
  agent: [AgentRecord];
  framework: [FrameworkRecord];
  offer: [{ kind: 'made' | 'accepted' | 'declined' | 'rescinded'; offer: OfferRecord }];
  task: [TaskRecord, TaskStatus];
}

export class Master {
  readonly id = randomUUID();
  readonly options: MasterOptions;
  readonly log: Logger;
  readonly registry: Registry;
  readonly allocator: Allocator;
  readonly metrics = new Metrics();
  readonly events = new EventEmitter<MasterEvents>();
  readonly startTime = Date.now() / 1000;

  readonly frameworkRecords = new Map<string, FrameworkRecord>();
  readonly agentRecords = new Map<string, AgentRecord>();
  readonly offerRecords = new Map<string, OfferRecord>();

  readonly frameworks: Frameworks;
  readonly agents: Agents;
  readonly offers: Offers;
  readonly tasks: Tasks;

  masterInfo: MasterInfo;
  private sequence = 0;
  private stopped = false;

  constructor(registry: Registry, log: Logger, options: Partial<MasterOptions> = {}) {
    this.registry = registry;
    this.log = log;
    this.options = { ...DEFAULT_MASTER_OPTIONS, ...options };
    this.allocator = new Allocator({ weights: this.options.weights });
    this.masterInfo = { id: this.id, port: 0, version: '0.1.0' };
    this.frameworks = new Frameworks(this);
    this.agents = new Agents(this);
    this.offers = new Offers(this);
    this.tasks = new Tasks(this);
  }

  /** Recovers frameworks from the registry and starts the allocation loop. */
  start(address: { hostname: string; ip: string; port: number }): void {
    this.masterInfo = {
      id: this.id,
      port: address.port,
      hostname: address.hostname,
      version: '0.1.0',
      address: { hostname: address.hostname, ip: address.ip, port: address.port },
    };
    this.frameworks.recover();
    this.offers.start();
  }

  /** Cancels every timer; connections are closed by their adapters. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.offers.stop();
    for (const f of this.frameworkRecords.values()) {
      clearTimeout(f.failoverTimer);
      clearInterval(f.heartbeatTimer);
    }
    for (const a of this.agentRecords.values()) {
      clearInterval(a.pingTimer);
      clearTimeout(a.disconnectTimer);
      clearTimeout(a.removalTimer);
    }
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** IDs as Mesos makes them: unique across master restarts because they carry this run's id. */
  nextId(kind: 'framework' | 'agent' | 'offer'): string {
    const n = String(this.sequence++).padStart(4, '0');
    if (kind === 'framework') return `${this.id}-${n}`;
    if (kind === 'agent') return `${this.id}-S${n}`;
    return `${this.id}-O${n}`;
  }
}

