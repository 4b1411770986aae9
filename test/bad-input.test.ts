// Bad input gets a clear error naming what was wrong, and nothing else is disturbed: malformed
// calls, foreign IDs, another framework's offers, oversized or duplicate tasks, wrong secrets.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { io } from 'socket.io-client';
import { EventLog, TestCluster } from './helpers/cluster.ts';
import { SchedulerClient } from '../host/client/scheduler-client.ts';
import type { Offer, TaskInfo } from '../host/protocol/messages.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
  cluster.startAgent('agent-1', 'cpus:2;mem:512;disk:512;ports:[31000-31004]');
  await cluster.waitForAgents(1);
});
afterEach(() => cluster.closeClients());
afterAll(() => cluster.cleanup());

const task = (offer: Offer, id: string, cpus = 0.1, cmd = 'true'): TaskInfo => ({
  name: id,
  task_id: { value: id },
  agent_id: offer.agent_id,
  command: { value: cmd, shell: true },
  resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: cpus } }, { name: 'mem', type: 'SCALAR', scalar: { value: 16 } }],
});
const launch = (offer: Offer, tasks: TaskInfo[]) => ({
  type: 'ACCEPT' as const,
  accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: tasks } }] },
});

describe('malformed calls', () => {
  test('are refused with the field named, and the connection stays usable', async () => {
    const client = cluster.client();
    expect(await client.send('not an object')).toMatchObject({ ok: false, error: 'a Call must be a JSON object' });
    expect(await client.send({ type: 'LAUNCH_ROCKETS' })).toMatchObject({ ok: false, error: expect.stringContaining('type: expected one of SUBSCRIBE') });
    expect(await client.send({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'x' } } })).toMatchObject({
      ok: false, error: expect.stringContaining('subscribe.framework_info.name'),
    });
    expect(await client.send({ type: 'DECLINE', framework_id: { value: 'a/b' }, decline: { offer_ids: [{ value: 'x' }] } })).toMatchObject({
      ok: false, error: expect.stringContaining("framework_id.value: must not contain '/'"),
    });
    expect(await client.send({ type: 'ACCEPT', framework_id: { value: 'f' }, accept: { offer_ids: [] } })).toMatchObject({
      ok: false, error: expect.stringContaining('accept.offer_ids'),
    });
    // Calls for a framework this connection did not subscribe.
    expect(await client.send({ type: 'REVIVE', framework_id: { value: 'someone-else' } })).toMatchObject({ ok: false, code: 'NOT_SUBSCRIBED' });
    const log = new EventLog(client);
    await client.subscribe({ name: 'still-fine', user: 'x' });
    expect((await log.nextOffers()).length).toBe(1);
  });
});

describe('ACCEPT validation', () => {
  test('foreign and unknown offers drop the tasks and disturb nothing', async () => {
    const a = cluster.client();
    const b = cluster.client();
    const logA = new EventLog(a, { autoAck: true });
    const logB = new EventLog(b, { autoAck: true });
    await a.subscribe({ name: 'owner', user: 'x' });
    const [offer] = await logA.nextOffers();
    await b.subscribe({ name: 'thief', user: 'x' });

    // b tries to use a's offer: TASK_DROPPED for b, a's offer untouched.
    const stolen = await b.call(launch(offer, [task(offer, 'stolen')]));
    expect(stolen).toMatchObject({ ok: false, code: 'INVALID_OFFERS', error: expect.stringContaining('belongs to another framework') });
    const dropped = await logB.waitFor((l) => l.updates('stolen')[0], 'TASK_DROPPED');
    expect(dropped).toMatchObject({ state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS', source: 'SOURCE_MASTER' });

    const unknown = await a.call({ type: 'ACCEPT', accept: { offer_ids: [{ value: 'no-such-offer' }], operations: [] } });
    expect(unknown).toMatchObject({ ok: false, error: expect.stringContaining("offer 'no-such-offer' is not outstanding") });
    expect(await a.call({ type: 'DECLINE', decline: { offer_ids: [{ value: 'nope' }] } })).toMatchObject({ ok: false, code: 'UNKNOWN_OFFERS' });

    // The owner can still use its offer: oversized, duplicate and valid tasks in one ACCEPT.
    const ok = await a.call(launch(offer, [
      task(offer, 'too-big', 64),
      task(offer, 'good', 0.5, 'sleep 30'),
      task(offer, 'good', 0.5),
      { ...task(offer, 'no-command'), command: undefined },
    ]));
    expect(ok).toEqual({ ok: true });
    const tooBig = await logA.waitFor((l) => l.updates('too-big')[0], 'too-big error');
    expect(tooBig).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID' });
    expect(tooBig.message).toMatch(/needs .*cpus:64.* but the offers have/);
    const noCommand = await logA.waitFor((l) => l.updates('no-command')[0], 'no-command error');
    expect(noCommand.message).toContain('needs a command or an executor');
    await logA.waitFor((l) => l.updates('good').find((s) => s.state === 'TASK_RUNNING'), 'good running');
    const dupes = logA.updates('good').filter((s) => s.state === 'TASK_ERROR');
    expect(dupes).toHaveLength(1);
    expect(dupes[0].message).toContain('already in use');

    const state = await cluster.state();
    const owner = state.frameworks.find((f: any) => f.name === 'owner');
    expect(owner.tasks.map((t: any) => t.id)).toEqual(['good']);
    expect(owner.used_resources.cpus).toBe(0.5);
  });

  test('unsupported operations are refused before any offer is used', async () => {
    const client = cluster.client();
    const log = new EventLog(client);
    await client.subscribe({ name: 'ops', user: 'x' });
    const [offer] = await log.nextOffers();
    const answer = await client.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'RESERVE' }] } });
    expect(answer).toMatchObject({ ok: false, error: "accept.operations[0].type: unsupported operation 'RESERVE' (supported: LAUNCH)" });
    // The offer is still outstanding and usable.
    expect(await client.call({ type: 'DECLINE', decline: { offer_ids: [offer.id] } })).toEqual({ ok: true });
  });
});

describe('secrets', () => {
  test('a master with a secret refuses sockets and HTTP without it', async () => {
    const secured = await TestCluster.start({ secret: 's3cret' });
    try {
      const health = await fetch(`${secured.url}/health`);
      expect(health.status).toBe(200);
      const noAuth = await fetch(`${secured.url}/master/state`);
      expect(noAuth.status).toBe(401);
      expect(await noAuth.json()).toMatchObject({ error: expect.stringContaining('unauthorized') });
      const withAuth = await fetch(`${secured.url}/master/state`, { headers: { authorization: 'Bearer s3cret' } });
      expect(withAuth.status).toBe(200);
      expect((await fetch(`${secured.url}/metrics/snapshot?token=s3cret`)).status).toBe(200);

      const wrong = new SchedulerClient(secured.url, { secret: 'wrong' });
      await expect(wrong.connected()).rejects.toThrow(/unauthorized/);
      wrong.close();
      const agentSocket = io(`${secured.url}/agent`, { auth: { secret: 'nope' }, transports: ['websocket'], reconnection: false });
      const refused = await new Promise<Error>((resolve) => agentSocket.once('connect_error', resolve));
      expect(refused.message).toMatch(/unauthorized/);
      agentSocket.close();
      const right = new SchedulerClient(secured.url, { secret: 's3cret' });
      await right.connected();
      right.close();
    } finally {
      await secured.cleanup();
    }
  });

  test('a master refuses to listen beyond loopback without a secret', async () => {
    await expect(TestCluster.start({ host: '0.0.0.0' })).rejects.toThrow(/without a secret/);
  });
});
