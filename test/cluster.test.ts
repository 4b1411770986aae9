// End to end: real master, real agent processes, a framework over socket.io launching command
// tasks, reading their output through the agents' files API, and the Mesos-shaped endpoints.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { EventLog, TestCluster, waitFor } from './helpers/cluster.ts';
import type { Offer, TaskInfo } from '../host/protocol/messages.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
  cluster.startAgent('agent-1', 'cpus:2;mem:1024;disk:2048;ports:[31000-31009]', ['--attributes', 'rack:a;zone:z1']);
  cluster.startAgent('agent-2', 'cpus:2;mem:1024;disk:2048;ports:[32000-32009]');
  await cluster.waitForAgents(2);
});

afterEach(() => cluster.closeClients());
afterAll(() => cluster.cleanup());

const echoTask = (offer: Offer, id: string, cmd: string, res = { cpus: 0.1, mem: 32 }): TaskInfo => ({
  name: id,
  task_id: { value: id },
  agent_id: offer.agent_id,
  command: { shell: true, value: cmd },
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: res.cpus } },
    { name: 'mem', type: 'SCALAR', scalar: { value: res.mem } },
  ],
});

describe('a framework on a two-agent cluster', () => {
  test('master/state shows both agents the Mesos way', async () => {
    const state = await cluster.state();
    expect(state.activated_slaves).toBe(2);
    const a1 = state.slaves.find((s: any) => s.hostname === 'agent-1');
    expect(a1.pid).toMatch(/^slave\(1\)@127\.0\.0\.1:\d+$/);
    expect(a1.resources).toMatchObject({ cpus: 2, mem: 1024, disk: 2048, ports: '[31000-31009]' });
    expect(a1.attributes).toEqual({ rack: 'a', zone: 'z1' });
    expect(a1.active).toBe(true);
  });

  test('gets offers, launches echo tasks, sees them finish, reads their stdout', async () => {
    const client = cluster.client();
    const log = new EventLog(client, { autoAck: true });
    const frameworkId = await client.subscribe({ name: 'echo', user: 'test' });
    expect(frameworkId).toMatch(/-0\d+$/);

    const offers = await log.nextOffers();
    const byAgent = new Map(offers.map((o) => [o.agent_id.value, o]));
    expect(byAgent.size).toBe(2); // whole agents, one offer each

    for (const [i, offer] of [...byAgent.values()].entries()) {
      const ack = await client.call({
        type: 'ACCEPT',
        accept: {
          offer_ids: [offer.id],
          operations: [{ type: 'LAUNCH', launch: { task_infos: [echoTask(offer, `echo-${i}`, `echo hello from $MESOS_TASK_ID; echo oops >&2`)] } }],
        },
      });
      expect(ack).toEqual({ ok: true });
    }

    for (const id of ['echo-0', 'echo-1']) {
      await log.waitFor((l) => l.updates(id).find((s) => s.state === 'TASK_FINISHED'), `${id} finished`);
      const states = log.updates(id).map((s) => s.state);
      expect(states).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
      for (const s of log.updates(id)) expect(s.uuid).toBeTruthy();
    }

    // The task leaves `tasks` for `completed_tasks` once its terminal update is acknowledged.
    const state = await waitFor(async () => {
      const s = await cluster.state();
      const f = s.frameworks.find((x: any) => x.id === frameworkId);
      return f.completed_tasks.length === 2 && s;
    }, 'tasks to complete');
    const framework = state.frameworks.find((x: any) => x.id === frameworkId);
    expect(framework.tasks).toEqual([]);
    expect(framework.completed_tasks.map((t: any) => t.state)).toEqual(['TASK_FINISHED', 'TASK_FINISHED']);

    // stdout and stderr through the agent's files API (Mesos' /files/read).
    const task = framework.completed_tasks.find((t: any) => t.id === 'echo-0');
    const agent = state.slaves.find((s: any) => s.id === task.slave_id);
    const address = agent.pid.split('@')[1];
    const read = async (file: string, query = '') => {
      const res = await fetch(`http://${address}/files/read?path=${frameworkId}/echo-0/${file}${query}`);
      expect(res.status).toBe(200);
      return res.json() as Promise<{ data: string; offset: number }>;
    };
    expect(await read('stdout')).toEqual({ data: 'hello from echo-0\n', offset: 0 });
    expect((await read('stderr')).data).toBe('oops\n');
    expect(await read('stdout', '&offset=-1')).toEqual({ data: '', offset: 18 });
    expect(await read('stdout', '&offset=6&length=4')).toEqual({ data: 'from', offset: 6 });
    const outside = await fetch(`http://${address}/files/read?path=../../../etc/passwd`);
    expect([403, 404]).toContain(outside.status);

    client.close();
  });

  test('a failing command is TASK_FAILED with its exit status; ports reach the task', async () => {
    const client = cluster.client();
    const log = new EventLog(client, { autoAck: true });
    await client.subscribe({ name: 'fails', user: 'test' });
    const [offer] = await log.nextOffers();
    const task = echoTask(offer, 'fail-1', 'echo "port=$PORT0 ports=$PORTS"; exit 3');
    const port = offer.resources.find((r) => r.name === 'ports')!.ranges!.range[0].begin;
    task.resources.push({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: port, end: port + 1 }] } });
    expect(await client.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }] } })).toEqual({ ok: true });
    const failed = await log.waitFor((l) => l.updates('fail-1').find((s) => s.state === 'TASK_FAILED'), 'TASK_FAILED');
    expect(failed.message).toBe('Command exited with status 3');
    const state = await cluster.state();
    const agent = state.slaves.find((s: any) => s.id === offer.agent_id.value);
    const fid = client.frameworkId;
    const out: any = await (await fetch(`http://${agent.pid.split('@')[1]}/files/read?path=${fid}/fail-1/stdout`)).json();
    expect(out.data).toBe(`port=${port} ports=${port},${port + 1}\n`);
    client.close();
  });

  test('kill: a long-running task is TASK_KILLED and its resources are offered again', async () => {
    const client = cluster.client();
    const log = new EventLog(client, { autoAck: true });
    await client.subscribe({ name: 'killer', user: 'test' });
    const [offer] = await log.nextOffers();
    await client.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [echoTask(offer, 'sleeper', 'sleep 600', { cpus: 1, mem: 128 })] } }] } });
    await log.waitFor((l) => l.updates('sleeper').find((s) => s.state === 'TASK_RUNNING'), 'TASK_RUNNING');
    let state = await cluster.state();
    let fw = state.frameworks.find((f: any) => f.id === client.frameworkId);
    expect(fw.used_resources.cpus).toBe(1);
    expect(await client.call({ type: 'KILL', kill: { task_id: { value: 'sleeper' }, agent_id: offer.agent_id } })).toEqual({ ok: true });
    const killed = await log.waitFor((l) => l.updates('sleeper').find((s) => s.state === 'TASK_KILLED'), 'TASK_KILLED');
    expect(killed.source).toBe('SOURCE_EXECUTOR');
    state = await cluster.state();
    fw = state.frameworks.find((f: any) => f.id === client.frameworkId);
    expect(fw.used_resources.cpus).toBe(0);
    client.close();
  });

  test('metrics/snapshot uses Mesos key names, including allocator timings', async () => {
    const metrics: any = await (await fetch(`${cluster.url}/metrics/snapshot`)).json();
    expect(metrics['master/slaves_active']).toBe(2);
    expect(metrics['master/cpus_total']).toBe(4);
    expect(metrics['master/tasks_finished']).toBeGreaterThanOrEqual(2);
    expect(metrics['master/tasks_failed']).toBeGreaterThanOrEqual(1);
    expect(metrics['master/tasks_killed']).toBeGreaterThanOrEqual(1);
    expect(metrics['allocator/mesos/allocation_runs']).toBeGreaterThan(0);
    expect(typeof metrics['allocator/mesos/allocation_run_ms/p50']).toBe('number');
  });
});
