// The agent's side of the socket.io `/agent` link: connecting (forever), registering on every
// (re)connection, validating what the master sends and handing it on as typed messages.
//
// What must stay true:
// - Every inbound message is validated with the protocol schemas before a handler sees it; a bad
//   one is logged and dropped, and a throwing handler never takes the agent down.
// - A registration answer is only acted on while its connection is the current one (a generation
//   counter, bumped on every attempt and disconnect, guards against stale answers).
// - The link never gives up: socket.io reconnects by itself after network errors; when the master
//   refuses us (middleware: wrong secret) or disconnects us, we retry ourselves, with backoff.
import { io as connectSocket, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { formatIssues } from '../protocol/validate.ts';
import type { Logger } from '../common/log.ts';
import {
  FrameworkInfo, ID, KillPolicy, TaskInfo, idValue, type AgentToMaster, type MasterToAgent, type RegisterAgent, type StatusUpdate,
} from '../protocol/messages.ts';

const REGISTER_TIMEOUT_MS = 10_000;
const REGISTER_RETRY_MS = 2_000;
const REFUSED_RETRY_MIN_MS = 2_000;
const REFUSED_RETRY_MAX_MS = 60_000;

// Inbound master messages (MasterToAgent), validated before use.
export const RunTask = z.object({ framework: FrameworkInfo.extend({ id: ID }), task: TaskInfo });
export const KillTask = z.object({ framework_id: ID, task_id: ID, kill_policy: KillPolicy.optional() });
export const Acknowledge = z.object({ framework_id: ID, task_id: ID, uuid: z.string().min(1).max(256) });
export const ShutdownFramework = z.object({ framework_id: ID });
export const FrameworkMessage = z.object({ framework_id: ID, executor_id: ID, data: z.string() });
const RegisterAnswer = z.union([
  z.object({ ok: z.literal(true), agent_id: idValue, master_id: z.string() }),
  z.object({ ok: z.literal(false).optional(), error: z.string() }),
]);

export interface MasterLinkHandlers {
  /** The registration to send now (ID, address, resources, current tasks). */
  registration(): RegisterAgent;
  /** The master accepted us: make the agent ID durable (resolve once it is on disk). */
  registered(agentId: string, masterId: string): Promise<void>;
  /** Registration complete on the current connection: status updates may flow. */
  online(): void;
  disconnected(): void;
  runTask(msg: z.infer<typeof RunTask>): unknown;
  killTask(msg: z.infer<typeof KillTask>): unknown;
  acknowledge(msg: z.infer<typeof Acknowledge>): unknown;
  shutdownFramework(msg: z.infer<typeof ShutdownFramework>): unknown;
  frameworkMessage(msg: z.infer<typeof FrameworkMessage>): unknown;
}

export interface MasterLinkOptions {
  masterUrl: string;
  secret?: string;
  logger: Logger;
  handlers: MasterLinkHandlers;
}

type AgentSocket = Socket<MasterToAgent, AgentToMaster>;


export class MasterLink {
  private readonly opts: MasterLinkOptions;
  private readonly log: Logger;
  private socket: AgentSocket | null = null;
  private generation = 0;
  private registeredGeneration = -1;
  private retryTimer: NodeJS.Timeout | null = null;
  private refusedDelayMs = REFUSED_RETRY_MIN_MS;
  private closed = false;

  constructor(opts: MasterLinkOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  /** Whether the master has acknowledged this connection's registration. */
  get registered(): boolean {
    return this.socket !== null && this.registeredGeneration === this.generation;
  }

  /**
   * Fire and forget. Dropped unless registered: socket.io-client would buffer it while
   * disconnected and flush it before the next registration; the update manager resends anyway.
   */
  sendStatusUpdate(update: StatusUpdate): void {
    if (this.registered) this.socket?.emit('status_update', update);
  }

  connect(): void {
    const { masterUrl, secret } = this.opts;
    const socket: AgentSocket = connectSocket(`${masterUrl.replace(/\/+$/, '')}/agent`, {
      auth: secret ? { secret } : {},
      reconnection: true,
      reconnectionAttempts: Infinity, // the master may be restarting: keep trying forever
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
      transports: ['websocket'],
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.refusedDelayMs = REFUSED_RETRY_MIN_MS;
      this.log.info({ master: masterUrl }, 'connected to the master; registering');
      this.register();
    });
    socket.on('disconnect', (reason) => {
      this.generation++; // a registration in flight belongs to the old connection
      this.opts.handlers.disconnected();
      this.log.warn({ reason }, 'disconnected from the master');
      // socket.io does not reconnect after a server-side disconnect; the master may come back.
      if (reason === 'io server disconnect') this.retryLater(() => socket.connect(), REGISTER_RETRY_MS);
    });
    socket.on('connect_error', (err) => {
      if (socket.active) {
        this.log.warn({ master: masterUrl, error: err.message }, 'cannot reach the master; retrying');
        return;
      }
      // Refused by the master's middleware (socket.io will not retry by itself): most likely a
      // wrong or missing secret. Keep trying, slowly, in case the master is reconfigured.
      this.log.error(
        { master: masterUrl, error: err.message, retryInMs: this.refusedDelayMs },
        'the master refused the connection (check the agent secret)',
      );
      this.retryLater(() => socket.connect(), this.refusedDelayMs);
      this.refusedDelayMs = Math.min(this.refusedDelayMs * 2, REFUSED_RETRY_MAX_MS);
    });

    const h = this.opts.handlers;
    this.route('run_task', RunTask, (m) => h.runTask(m));
    this.route('kill_task', KillTask, (m) => h.killTask(m));
    this.route('acknowledge', Acknowledge, (m) => h.acknowledge(m));
    this.route('shutdown_framework', ShutdownFramework, (m) => h.shutdownFramework(m));
    this.route('framework_message', FrameworkMessage, (m) => h.frameworkMessage(m));
    socket.on('ping', (ack: unknown) => {
      if (typeof ack === 'function') ack({ ok: true });
    });
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.io.removeAllListeners();
      this.socket.disconnect();
      this.socket = null;
    }
  }

  /** Validates one inbound event and runs its handler; nothing the master sends may crash the agent. */
  private route<T>(event: Exclude<keyof MasterToAgent, 'ping'>, schema: z.ZodType<T>, handle: (msg: T) => unknown): void {
    this.socket!.on(event, (raw: unknown) => {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        this.log.warn({ event, problem: formatIssues(parsed.error) }, 'ignoring an invalid message from the master');
        return;
      }
      try {
        const r = handle(parsed.data);
        if (r instanceof Promise) r.catch((err) => this.log.error({ err, event }, 'handling a master message failed'));
      } catch (err) {
        this.log.error({ err, event }, 'handling a master message failed');
      }
    });
  }

  private retryLater(fn: () => void, delayMs: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) fn();
    }, delayMs);
  }

  private register(): void {
    const socket = this.socket;
    if (!socket || this.closed) return;
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.closed;
    const msg = this.opts.handlers.registration();
    const retry = (): void => this.retryLater(() => {
      if (current() && socket.connected) this.register();
    }, REGISTER_RETRY_MS);
    socket.timeout(REGISTER_TIMEOUT_MS).emitWithAck('register', msg).then(
      async (raw: unknown) => {
        if (!current()) return;
        const answer = RegisterAnswer.safeParse(raw);
        if (!answer.success) {
          this.log.error({ problem: formatIssues(answer.error) }, 'malformed registration answer from the master; retrying');
          return retry();
        }
        if (answer.data.ok !== true) {
          this.log.error({ error: answer.data.error }, 'the master refused the registration; retrying');
          return retry();
        }
        const { agent_id: agentId, master_id: masterId } = answer.data;
        try {
          await this.opts.handlers.registered(agentId, masterId);
        } catch (err) {
          this.log.error({ err }, 'cannot complete the registration; retrying');
          return retry();
        }
        if (!current()) return;
        this.registeredGeneration = generation;
        this.log.info({ agentId, masterId, tasks: msg.tasks.length }, msg.agent_id ? 're-registered with the master' : 'registered with the master');
        this.opts.handlers.online();
      },
      (err: Error) => {
        if (!current()) return;
        this.log.warn({ error: err.message }, 'registration not acknowledged; retrying');
        retry();
      },
    );
  }
}
