// socket.io /scheduler: frameworks emit `call` with a Mesos v1 Call and get `{ok:true}` or
// `{error}` in the ack; Events arrive as `event`. This adapter only validates and dispatches:
// a malformed call is answered here and never reaches the master's state.
import type { Namespace, Socket } from 'socket.io';
import { parseCall } from '../protocol/validate.ts';
import type { Call, CallAck, SchedulerClientToServer, SchedulerServerToClient } from '../protocol/messages.ts';
import type { Master } from './master.ts';
import type { SchedulerConnection } from './records.ts';

type SchedulerSocket = Socket<SchedulerClientToServer, SchedulerServerToClient>;

/** Dispatches a validated call from a subscribed framework (shared with in-process schedulers). */
export async function dispatchCall(master: Master, conn: SchedulerConnection, call: Call): Promise<CallAck> {
  if (call.type === 'SUBSCRIBE') {
    const result = await master.frameworks.subscribe(conn, call);
    return result.ok ? { ok: true } : { ok: false, error: result.error };
  }
  const framework = master.frameworks.get(call.framework_id.value);
  if (!framework || framework.connection !== conn) {
    return {
      ok: false,
      code: 'NOT_SUBSCRIBED',
      error: `framework_id: '${call.framework_id.value}' is not subscribed on this connection; send SUBSCRIBE first`,
    };
  }
  switch (call.type) {
    case 'TEARDOWN':
      master.frameworks.remove(framework, 'TEARDOWN');
      return { ok: true };
    case 'ACCEPT':
      return master.tasks.accept(framework, call.accept);
    case 'DECLINE': {
      const unknown = master.offers.decline(framework, call.decline.offer_ids.map((o) => o.value), call.decline.filters);
      return unknown.length === 0
        ? { ok: true }
        : { ok: false, code: 'UNKNOWN_OFFERS', error: `decline.offer_ids: not outstanding for this framework: ${unknown.join(', ')} (the others were declined)` };
    }
    case 'REVIVE':
      master.allocator.revive(framework.id, call.revive?.roles);
      for (const r of call.revive?.roles ?? [...framework.suppressedRoles]) framework.suppressedRoles.delete(r);
      master.offers.allocateSoon();
      return { ok: true };
    case 'SUPPRESS':
      master.allocator.suppress(framework.id, call.suppress?.roles);
      for (const r of call.suppress?.roles ?? framework.roles) framework.suppressedRoles.add(r);
      master.offers.rescindFramework(framework, true);
      return { ok: true };
    case 'KILL':
      return master.tasks.kill(framework, call.kill);
    case 'ACKNOWLEDGE':
      return master.tasks.acknowledge(framework, call.acknowledge);
    case 'RECONCILE':
      return master.tasks.reconcile(framework, call.reconcile.tasks);
    case 'MESSAGE': {
      const agent = master.agentRecords.get(call.message.agent_id.value);
      if (!agent?.connection) return { ok: false, error: `message.agent_id: agent '${call.message.agent_id.value}' is not connected` };
      agent.connection.send('framework_message', { framework_id: { value: framework.id }, executor_id: call.message.executor_id, data: call.message.data });
      return { ok: true };
    }
    case 'SHUTDOWN': {
      const agent = master.agentRecords.get(call.shutdown.agent_id.value);
      if (!agent?.connection) return { ok: false, error: `shutdown.agent_id: agent '${call.shutdown.agent_id.value}' is not connected` };
      const executorId = call.shutdown.executor_id.value;
      const tasks = [...framework.tasks.values()].filter((t) => t.agentId === agent.id && t.info.executor?.executor_id.value === executorId);
      if (tasks.length === 0) return { ok: false, error: `shutdown.executor_id: no executor '${executorId}' of this framework on agent '${agent.id}'` };
      for (const t of tasks) agent.connection.send('kill_task', { framework_id: { value: framework.id }, task_id: t.info.task_id });
      return { ok: true };
    }
    case 'REQUEST':
      return { ok: true }; // Mesos' allocator ignores requests too.
  }
}

class SocketSchedulerConnection implements SchedulerConnection {
  readonly id: string;
  private readonly socket: SchedulerSocket;

  constructor(socket: SchedulerSocket) {
    this.socket = socket;
    this.id = socket.id;
  }

  send(event: Parameters<SchedulerServerToClient['event']>[0]): void {
    this.socket.emit('event', event);
  }

  close(reason: string): void {
    // Let queued events (ERROR, last updates) flush before the transport closes.
    setImmediate(() => this.socket.disconnect(true));
    this.socket.data.closeReason = reason;
  }
}

export function attachSchedulerApi(master: Master, nsp: Namespace<SchedulerClientToServer, SchedulerServerToClient>): void {
  nsp.on('connection', (socket) => {
    const conn = new SocketSchedulerConnection(socket);
    socket.on('call', (raw: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (a: CallAck) => void) : () => {};
      const parsed = parseCall(raw);
      if (!parsed.ok) {
        master.metrics.count('master/invalid_calls');
        reply({ ok: false, code: 'INVALID_CALL', error: parsed.error });
        return;
      }
      master.metrics.count(`master/messages_${parsed.value.type.toLowerCase()}`);
      dispatchCall(master, conn, parsed.value).then(reply, (err: Error) => {
        master.log.error({ err, type: parsed.value.type }, 'call failed');
        reply({ ok: false, code: 'INTERNAL', error: `internal error handling ${parsed.value.type}: ${err.message}` });
      });
    });
    socket.on('disconnect', () => master.frameworks.disconnected(conn));
  });
}
