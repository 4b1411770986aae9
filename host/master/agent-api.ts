// socket.io /agent: the master's end of the agent link. Agents are separate processes (maybe of
// another version), so every message is validated like any other boundary.
import type { Namespace, Socket } from 'socket.io';
import { parseWith } from '../protocol/validate.ts';
import { RegisterAgent, StatusUpdate, ID } from '../protocol/messages.ts';
import type { AgentToMaster, MasterToAgent, RegisterAgentAck } from '../protocol/messages.ts';
import { z } from 'zod';
import type { Master } from './master.ts';
import type { AgentConnection } from './records.ts';

type AgentSocket = Socket<AgentToMaster, MasterToAgent>;

const ExecutorMessage = z.object({ framework_id: ID, executor_id: ID, data: z.string().max(4 * 1024 * 1024) });

class SocketAgentConnection implements AgentConnection {
  readonly id: string;
  private readonly socket: AgentSocket;

  constructor(socket: AgentSocket) {
    this.socket = socket;
    this.id = socket.id;
  }

  send<E extends keyof MasterToAgent>(event: E, ...args: Parameters<MasterToAgent[E]>): void {
    (this.socket.emit as (e: string, ...a: unknown[]) => void)(event, ...args);
  }

  async ping(timeoutMs: number): Promise<boolean> {
    try {
      await this.socket.timeout(timeoutMs).emitWithAck('ping');
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    setImmediate(() => this.socket.disconnect(true));
  }
}

export function attachAgentApi(master: Master, nsp: Namespace<AgentToMaster, MasterToAgent>): void {
  nsp.on('connection', (socket) => {
    const conn = new SocketAgentConnection(socket);
    socket.on('register', (raw: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (a: RegisterAgentAck) => void) : () => {};
      const parsed = parseWith(RegisterAgent, raw);
      if (!parsed.ok) {
        reply({ ok: false, error: parsed.error });
        return;
      }
      master.agents.register(conn, parsed.value).then(reply, (err: Error) => {
        master.log.error({ err }, 'agent registration failed');
        reply({ ok: false, error: `registration failed: ${err.message}` });
      });
    });
    socket.on('status_update', (raw: unknown) => {
      const agent = master.agents.byConnection(conn);
      const parsed = parseWith(StatusUpdate, raw);
      if (!agent || !parsed.ok) {
        master.metrics.count('master/invalid_status_updates');
        master.log.warn({ error: parsed.ok ? 'agent not registered on this connection' : parsed.error }, 'status update refused');
        return;
      }
      master.tasks.statusUpdate(agent, parsed.value);
    });
    socket.on('executor_message', (raw: unknown) => {
      const agent = master.agents.byConnection(conn);
      const parsed = parseWith(ExecutorMessage, raw);
      if (!agent || !parsed.ok) return;
      const framework = master.frameworks.get(parsed.value.framework_id.value);
      framework?.connection?.send({
        type: 'MESSAGE',
        message: { agent_id: { value: agent.id }, executor_id: parsed.value.executor_id, data: parsed.value.data },
      });
    });
    socket.on('disconnect', () => master.agents.disconnected(conn));
  });
}
