// The status update manager (Mesos' TaskStatusUpdateManager): reliable, ordered delivery of task
// status updates from this agent to the master, and through it to the framework.
//
// What must stay true:
// - Every update gets a fresh uuid and is checkpointed (on disk) before it is first sent, so an
//   agent crash never loses an update the executor already produced.
// - Per task, updates form a FIFO stream and only its head is in flight: the next one is sent only
//   after the head's acknowledgement arrives. The head is resent with exponential backoff
//   (min..max) until then — delivery is at least once, the uuid lets receivers drop duplicates.
// - An acknowledgement whose uuid is not the head of its stream is a duplicate (or stale) and is
//   ignored.
// - While the master is disconnected nothing is sent; `resume()` (after re-registration) resends
//   every stream's head immediately.
// - When the terminal update of a task is acknowledged the stream ends and the owner is told, so
//   it can forget the task.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../common/log.ts';
import { isTerminal, type StatusUpdate, type TaskStatus } from '../protocol/messages.ts';
import { taskKey, type AgentStore } from './checkpoint.ts';

export interface StatusUpdateManagerOptions {
  store: AgentStore;
  /** Sends one update to the master (fire and forget; the acknowledgement comes back separately). */
  send: (update: StatusUpdate) => void;
  /** Called once a task's terminal update has been acknowledged. */
  onTerminalAcknowledged?: (frameworkId: string, taskId: string) => void;
  retryMinMs: number;
  retryMaxMs: number;
  logger: Logger;
}

/** The part of a TaskStatus the producer (an executor) decides; the manager fills in the rest. */
export type StatusInput = Pick<TaskStatus, 'state' | 'message' | 'reason' | 'data' | 'healthy' | 'labels'> & {
  task_id: { value: string };
};

interface Stream {
  frameworkId: string;
  taskId: string;
  /** Pending updates, oldest first; [0] is the head. Durable ones are on disk. */
  queue: Array<{ update: StatusUpdate; durable: boolean }>;
  timer: NodeJS.Timeout | null;
  /** Delay before the next resend of the head. */
  backoffMs: number;
  /** The uuid of the head as last sent, so an ack for it can be matched. */
  inFlight: string | null;
}

export const newUuid = (): string => randomBytes(16).toString('base64');

export class StatusUpdateManager {
  private readonly streams = new Map<string, Stream>();
  private readonly opts: StatusUpdateManagerOptions;
  private connected = false;
  private closed = false;
  private agentId: string | undefined;

  constructor(opts: StatusUpdateManagerOptions) {
    this.opts = opts;
    // Recovery: rebuild the streams from the checkpoint, in their original order.
    for (const update of opts.store.data.updates) {
      this.stream(update.framework_id.value, update.status.task_id.value).queue.push({ update, durable: true });
    }
  }

  /** The agent ID stamped on new updates; set once the master has assigned it. */
  setAgentId(agentId: string): void {
    this.agentId = agentId;
  }

  /**
   * Records a new update for a task: checkpoints it, then sends it when it reaches the head of
   * its stream. Resolves once it is on disk (callers need not wait). `beforeCheckpoint` runs
   * synchronously with the finished update, before the write starts, so state the caller derives
   * from it (the task's latest status) lands in the same write.
   */
  async update(frameworkId: string, input: StatusInput, beforeCheckpoint?: (update: StatusUpdate) => void): Promise<StatusUpdate> {
    if (this.closed) throw new Error('status update manager is closed');
    if (!this.agentId) throw new Error('cannot create a status update before the agent has an ID');
    const update: StatusUpdate = {
      framework_id: { value: frameworkId },
      status: {
        ...input,
        task_id: { value: input.task_id.value },
        source: 'SOURCE_EXECUTOR',
        agent_id: { value: this.agentId },
        timestamp: Date.now() / 1000,
        uuid: newUuid(),
      },
    };
    const stream = this.stream(frameworkId, input.task_id.value);
    const entry = { update, durable: false };
    // Queue first (keeps the order of concurrent calls), persist, then it may be sent.
    stream.queue.push(entry);
    this.opts.store.data.updates.push(update);
    beforeCheckpoint?.(update);
    try {
      await this.opts.store.change();
    } catch (err) {
      // The update stays in the in-memory document and goes to disk with the next write that
      // succeeds; holding it back would block its task's stream forever.
      this.opts.logger.error({ err, taskId: input.task_id.value }, 'cannot checkpoint a status update; sending it anyway');
    }
    entry.durable = true;
    // The stream may have been dropped meanwhile (framework cleanup): then nothing is sent.
    if (this.streams.get(taskKey(frameworkId, input.task_id.value)) === stream) this.pump(stream);
    return update;
  }

  /** An acknowledgement from the framework (via the master). Returns whether it matched a head. */
  acknowledge(frameworkId: string, taskId: string, uuid: string): boolean {
    const stream = this.streams.get(taskKey(frameworkId, taskId));
    const head = stream?.queue[0];
    if (!stream || !head || !head.durable || head.update.status.uuid !== uuid) {
      this.opts.logger.debug({ frameworkId, taskId, uuid }, 'ignoring acknowledgement of an unknown or already acknowledged update');
      return false;
    }
    stream.queue.shift();
    this.clearTimer(stream);
    stream.inFlight = null;
    const updates = this.opts.store.data.updates;
    const at = updates.findIndex((u) => u.status.uuid === uuid);
    if (at >= 0) updates.splice(at, 1);
    void this.opts.store.change().catch((err) => this.opts.logger.error({ err }, 'cannot checkpoint an acknowledgement'));

    const terminal = isTerminal(head.update.status.state);
    if (stream.queue.length === 0) this.streams.delete(taskKey(frameworkId, taskId));
    else this.pump(stream);
    if (terminal) this.opts.onTerminalAcknowledged?.(frameworkId, taskId);
    return true;
  }

  /** The master is reachable again (after re-registration): resend every head now. */
  resume(): void {
    if (this.closed) return;
    this.connected = true;
    for (const stream of this.streams.values()) {
      this.clearTimer(stream);
      stream.inFlight = null;
      stream.backoffMs = this.opts.retryMinMs;
      this.pump(stream);
    }
  }

  /** The master went away: stop sending until `resume()`; nothing is dropped. */
  pause(): void {
    this.connected = false;
    for (const stream of this.streams.values()) this.clearTimer(stream);
  }

  /** Drops every pending update of a framework (it was shut down; nobody will acknowledge them). */
  cleanupFramework(frameworkId: string): void {
    for (const [key, stream] of this.streams) {
      if (stream.frameworkId !== frameworkId) continue;
      this.clearTimer(stream);
      this.streams.delete(key);
    }
    const updates = this.opts.store.data.updates;
    for (let i = updates.length - 1; i >= 0; i--) if (updates[i].framework_id.value === frameworkId) updates.splice(i, 1);
    void this.opts.store.change().catch((err) => this.opts.logger.error({ err }, 'cannot checkpoint a framework cleanup'));
  }

  /** Pending (unacknowledged) updates, oldest first per task; for the agent's view and tests. */
  pending(frameworkId?: string, taskId?: string): StatusUpdate[] {
    const out: StatusUpdate[] = [];
    for (const s of this.streams.values()) {
      if (frameworkId !== undefined && s.frameworkId !== frameworkId) continue;
      if (taskId !== undefined && s.taskId !== taskId) continue;
      for (const e of s.queue) out.push(e.update);
    }
    return out;
  }

  /** Stops all timers; pending updates stay on disk and are resent by the next incarnation. */
  close(): void {
    this.closed = true;
    this.connected = false;
    for (const stream of this.streams.values()) this.clearTimer(stream);
  }

  private stream(frameworkId: string, taskId: string): Stream {
    const key = taskKey(frameworkId, taskId);
    let stream = this.streams.get(key);
    if (!stream) {
      stream = { frameworkId, taskId, queue: [], timer: null, backoffMs: this.opts.retryMinMs, inFlight: null };
      this.streams.set(key, stream);
    }
    return stream;
  }

  /** Sends the head if it is durable, not already in flight, and the master is connected. */
  private pump(stream: Stream): void {
    const head = stream.queue[0];
    if (!this.connected || this.closed || !head || !head.durable) return;
    if (stream.inFlight === head.update.status.uuid) return; // its retry timer is already running
    stream.backoffMs = this.opts.retryMinMs;
    this.transmit(stream);
  }

  private transmit(stream: Stream): void {
    const head = stream.queue[0];
    if (!head || !this.connected || this.closed) return;
    stream.inFlight = head.update.status.uuid;
    try {
      this.opts.send(head.update);
    } catch (err) {
      this.opts.logger.warn({ err }, 'sending a status update failed; it will be retried');
    }
    this.clearTimer(stream);
    const delay = stream.backoffMs;
    stream.backoffMs = Math.min(stream.backoffMs * 2, this.opts.retryMaxMs);
    stream.timer = setTimeout(() => {
      stream.timer = null;
      if (stream.queue[0] !== head) return;
      this.opts.logger.debug(
        { taskId: stream.taskId, state: head.update.status.state, uuid: head.update.status.uuid },
        'resending an unacknowledged status update',
      );
      this.transmit(stream);
    }, delay);
  }

  private clearTimer(stream: Stream): void {
    if (stream.timer) clearTimeout(stream.timer);
    stream.timer = null;
  }
}
