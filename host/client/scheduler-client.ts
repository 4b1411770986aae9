// A thin socket.io client for the /scheduler namespace: what an external framework written in
// TypeScript uses to speak Mesos v1 Calls and Events to Agora (examples/ and the tests use it).
import { io, type Socket } from 'socket.io-client';
import type {
  Call, CallAck, Event, FrameworkInfo, SchedulerClientToServer, SchedulerServerToClient,
} from '../protocol/messages.ts';

export interface SchedulerClientOptions {
  secret?: string;
  /** Milliseconds to wait for a call's answer. */
  callTimeoutMs?: number;
}

type Listener = (event: Event) => void;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** Any call but SUBSCRIBE, without framework_id (the client fills it in). */
export type FrameworkCall = DistributiveOmit<Exclude<Call, { type: 'SUBSCRIBE' }>, 'framework_id'>;

export class SchedulerClient {
  readonly socket: Socket<SchedulerServerToClient, SchedulerClientToServer>;
  frameworkId?: string;
  private readonly listeners = new Set<Listener>();
  private readonly callTimeoutMs: number;

  constructor(masterUrl: string, opts: SchedulerClientOptions = {}) {
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    this.socket = io(`${masterUrl}/scheduler`, {
      auth: opts.secret ? { secret: opts.secret } : {},
      transports: ['websocket'],
      reconnection: false,
    });
    this.socket.on('event', (event) => {
      if (event.type === 'SUBSCRIBED') this.frameworkId = event.subscribed.framework_id.value;
      for (const l of this.listeners) l(event);
    });
  }

  /** Resolves once connected; rejects with the server's reason (e.g. a wrong secret). */
  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', (err) => reject(err));
    });
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends any value as a call (the server validates it); resolves with the server's answer. */
  async send(call: Call | unknown): Promise<CallAck> {
    await this.connected();
    return this.socket.timeout(this.callTimeoutMs).emitWithAck('call', call);
  }

  /** Sends a call on behalf of the subscribed framework (fills in framework_id). */
  call(call: FrameworkCall): Promise<CallAck> {
    if (!this.frameworkId) throw new Error('not subscribed');
    return this.send({ ...call, framework_id: { value: this.frameworkId } });
  }

  /** SUBSCRIBE and wait for SUBSCRIBED; returns the framework ID. */
  async subscribe(info: FrameworkInfo, frameworkId?: string): Promise<string> {
    const subscribed = new Promise<string>((resolve) => {
      const off = this.onEvent((e) => {
        if (e.type === 'SUBSCRIBED') {
          off();
          resolve(e.subscribed.framework_id.value);
        }
      });
    });
    const ack = await this.send({
      type: 'SUBSCRIBE',
      ...(frameworkId ? { framework_id: { value: frameworkId } } : {}),
      subscribe: { framework_info: { ...info, ...(frameworkId ? { id: { value: frameworkId } } : {}) } },
    });
    if (!ack.ok) throw new Error(`SUBSCRIBE refused: ${ack.error}`);
    return subscribed;
  }

  close(): void {
    this.listeners.clear();
    this.socket.disconnect();
  }
}
