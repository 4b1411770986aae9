// An external Agora framework in one file: it subscribes to the master over socket.io, launches N
// `echo` command tasks across the offers it receives, acknowledges every status update, prints each
// state change, and reads every finished task's stdout through its agent's files API.
//
//   npm start                                                  # in another terminal: master + 2 agents
//   node --no-node-snapshot examples/echo-framework.ts --tasks 4
//
// It exits 0 once all N tasks finished, non-zero if one did not (or on timeout), and tears its
// framework down (TEARDOWN) before it goes.
import { Command, InvalidArgumentError } from 'commander';
import { SchedulerClient } from '../host/client/scheduler-client.ts';
import type { Event, Offer, TaskInfo, TaskStatus } from '../host/protocol/messages.ts';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};
const opts = new Command('echo-framework')
  .description('launch N echo tasks on an Agora cluster and print their output')
  .option('--master <url>', 'the master to subscribe to', 'http://127.0.0.1:5050')
  .option('--tasks <n>', 'how many echo tasks to run', positiveInt, 4)
  .option('--secret <secret>', "the cluster's shared secret (or AGORA_SECRET)", process.env.AGORA_SECRET)
  .option('--timeout <seconds>', 'give up after this long', positiveInt, 60)
  .parse()
  .opts<{ master: string; tasks: number; secret?: string; timeout: number }>();

const master = opts.master.replace(/\/+$/, '');
// HTTP endpoints take the same secret as the socket.io connection, as a bearer token.
const headers: Record<string, string> = opts.secret ? { authorization: `Bearer ${opts.secret}` } : {};
const TASK = { cpus: 0.1, mem: 32 }; // what each echo task asks for
const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE']);

const client = new SchedulerClient(master, { secret: opts.secret });
let launched = 0; // tasks handed to the master so far
const done = new Map<string, TaskStatus['state']>(); // task id → terminal state
let failed = false;
let reported = 0; // terminal tasks whose outcome (and output) has been printed

// --- offers: one small task per offer per round; whatever we cannot use goes back ------------------
const scalar = (offer: Offer, name: string) =>
  offer.resources.filter((r) => r.name === name).reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);

async function onOffers(offers: Offer[]): Promise<void> {
  const unused: Offer[] = [];
  for (const offer of offers) {
    const fits = scalar(offer, 'cpus') >= TASK.cpus && scalar(offer, 'mem') >= TASK.mem;
    if (launched >= opts.tasks || !fits) {
      unused.push(offer);
      continue;
    }
    const id = `echo-${++launched}`;
    const task: TaskInfo = {
      name: id,
      task_id: { value: id },
      agent_id: offer.agent_id,
      command: { shell: true, value: `echo "hello from $MESOS_TASK_ID on ${offer.hostname}"` },
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: TASK.cpus } },
        { name: 'mem', type: 'SCALAR', scalar: { value: TASK.mem } },
      ],
    };
    console.log(`launching ${id} on ${offer.hostname}`);
    // The rest of this offer returns to the pool; refuse it only briefly so the next round comes soon.
    const ack = await client.call({
      type: 'ACCEPT',
      accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }], filters: { refuse_seconds: 1 } },
    });
    if (!ack.ok) fail(`ACCEPT refused: ${ack.error}`);
  }
  // Leftovers: decline, and keep them away from us for a while (Mesos' refuse filter).
  if (unused.length > 0) {
    await client.call({ type: 'DECLINE', decline: { offer_ids: unused.map((o) => o.id), filters: { refuse_seconds: 30 } } });
  }
}

// --- status updates: print, acknowledge, and collect the output of finished tasks ------------------
async function onUpdate(status: TaskStatus): Promise<void> {
  const id = status.task_id.value;
  console.log(`${id}: ${status.state}${status.message ? ` (${status.message})` : ''}`);
  // Until acknowledged, the agent keeps resending an update (reliable delivery).
  if (status.uuid && status.agent_id) {
    await client.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid } });
  }
  if (!TERMINAL.has(status.state) || done.has(id)) return;
  done.set(id, status.state);
  if (status.state === 'TASK_FINISHED') {
    console.log(`${id} stdout: ${(await readStdout(status)).trimEnd()}`);
  } else {
    failed = true;
  }
  // Count a task only once its output is printed: reads for other tasks may still be in flight.
  if (++reported === opts.tasks) await finish(failed ? 1 : 0);
}

/** A task's stdout, read from its sandbox through the agent's files API (Mesos' /files/read). */
async function readStdout(status: TaskStatus): Promise<string> {
  // The agent's HTTP address is in /master/state, written as Mesos does: `slave(1)@IP:PORT`.
  const state: any = await (await fetch(`${master}/master/state`, { headers })).json();
  const agent = state.slaves.find((s: any) => s.id === status.agent_id?.value);
  if (!agent) return '(agent not found in /master/state)';
  const address = agent.pid.split('@')[1];
  const path = `${client.frameworkId}/${status.task_id.value}/stdout`;
  const res = await fetch(`http://${address}/files/read?path=${encodeURIComponent(path)}`, { headers });
  if (!res.ok) return `(files API answered ${res.status})`;
  const { data } = (await res.json()) as { data: string; offset: number };
  return data;
}

// --- the event loop and the way out ---------------------------------------------------------------
function onEvent(event: Event): void {
  const handled = (p: Promise<void>) => p.catch((err) => fail(String(err?.message ?? err)));
  switch (event.type) {
    case 'OFFERS': return void handled(onOffers(event.offers.offers));
    case 'UPDATE': return void handled(onUpdate(event.update.status));
    case 'ERROR': return fail(`master says: ${event.error.message}`);
    case 'FAILURE': return console.log('failure reported:', JSON.stringify(event.failure));
    default: return; // SUBSCRIBED, HEARTBEAT, RESCIND, MESSAGE: nothing to do here
  }
}

let exiting = false;
async function finish(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  clearTimeout(timer);
  // TEARDOWN removes the framework from the cluster (and kills any task it still has).
  if (client.frameworkId) await client.call({ type: 'TEARDOWN' }).catch(() => {});
  client.close();
  console.log(code === 0 ? `all ${opts.tasks} tasks finished` : 'exiting with failures');
  process.exit(code);
}

function fail(reason: string): void {
  console.error(`echo-framework: ${reason}`);
  void finish(1);
}

const timer = setTimeout(() => fail(`timed out after ${opts.timeout} s (${launched} launched, ${done.size}/${opts.tasks} done)`), opts.timeout * 1000);
client.onEvent(onEvent);
client.socket.on('disconnect', (reason) => { if (!exiting) fail(`disconnected from the master (${reason})`); });
try {
  const id = await client.subscribe({ name: 'echo-framework', user: process.env.USER ?? 'nobody' });
  console.log(`subscribed to ${master} as framework ${id}`);
} catch (err: any) {
  fail(`cannot subscribe to ${master}: ${err?.message ?? err}`);
}
