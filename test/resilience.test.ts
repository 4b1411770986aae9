// What users rely on when things break: an agent dies (TASK_UNREACHABLE, then TASK_LOST, and
// agentLost), the master restarts (agents re-register with their tasks; the framework gets them
// back), a scheduler fails over, and status updates are resent until acknowledged.
import { afterEach, describe, expect, test } from '@jest/globals';
import { EventLog, TestCluster, waitFor } from './helpers/cluster.ts';
import type { Offer, TaskInfo } from '../host/protocol/messages.ts';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

const sleeper = (offer: Offer, id: string): TaskInfo => ({
  name: id,
  task_id: { value: id },
  agent_id: offer.agent_id,
  command: { value: 'sleep 600', shell: true },
  resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 32 } }],
});
const launch = (offer: Offer, tasks: TaskInfo[]) => ({
  type: 'ACCEPT' as const,
  accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: tasks } }] },
});

describe('agent failure', () => {
  test('a killed agent is unreachable, its tasks go TASK_UNREACHABLE then TASK_LOST; it can come back', async () => {
    const c = (cluster = await TestCluster.start());
    const agent = c.startAgent('doomed');
    await c.waitForAgents(1);
    const client = c.client();
    const log = new EventLog(client, { autoAck: true });
    await client.subscribe({ name: 'watcher', user: 'x' });
    const [offer] = await log.nextOffers();
    await client.call(launch(offer, [sleeper(offer, 'doomed-task')]));
    await log.waitFor((l) => l.updates('doomed-task').find((s) => s.state === 'TASK_RUNNING'), 'running');

    await agent.stop('SIGKILL');
    const unreachable = await log.waitFor((l) => l.updates('doomed-task').find((s) => s.state === 'TASK_UNREACHABLE'), 'TASK_UNREACHABLE');
    expect(unreachable).toMatchObject({ reason: 'REASON_AGENT_DISCONNECTED', source: 'SOURCE_MASTER' });
    expect(unreachable.message).toContain('unreachable');
    expect(log.of('FAILURE').map((e) => e.failure.agent_id?.value)).toContain(offer.agent_id.value);
    const lost = await log.waitFor((l) => l.updates('doomed-task').find((s) => s.state === 'TASK_LOST'), 'TASK_LOST');
    expect(lost).toMatchObject({ reason: 'REASON_AGENT_REMOVED' });
    let state = await c.state();
    expect(state.unreachable_slaves).toBe(1);
    expect(state.frameworks[0].completed_tasks.map((t: any) => t.state)).toEqual(['TASK_LOST']);

    // The agent restarts with the same work dir: same ID, active again; the straggler is killed.
    c.startAgent('doomed');
    state = await waitFor(async () => {
      const s = await c.state();
      return s.slaves.find((a: any) => a.id === offer.agent_id.value && a.active) && s;
    }, 'the agent to re-register');
    expect(state.unreachable_slaves).toBe(0);
    await log.waitFor((l) => l.updates('doomed-task').find((s) => s.state === 'TASK_KILLED'), 'straggler killed');
  });
});

describe('master restart', () => {
  test('agents re-register with their tasks and the framework gets them back', async () => {
    const c = (cluster = await TestCluster.start());
    c.startAgent('steady');
    await c.waitForAgents(1);
    const client = c.client();
    const log = new EventLog(client, { autoAck: true });
    const frameworkId = await client.subscribe({ name: 'survivor', user: 'x', failover_timeout: 60 });
    const [offer] = await log.nextOffers();
    await client.call(launch(offer, [sleeper(offer, 'keeps-running')]));
    await log.waitFor((l) => l.updates('keeps-running').find((s) => s.state === 'TASK_RUNNING'), 'running');

    await c.restartMaster();
    const before = await c.state();
    expect(before.id).not.toBe(offer.framework_id.value.split('-')[0]);
    await c.waitForAgents(1);

    // The framework re-subscribes with its ID (the old socket died with the old master).
    const again = c.client();
    const log2 = new EventLog(again, { autoAck: true });
    expect(await again.subscribe({ name: 'survivor', user: 'x', failover_timeout: 60 }, frameworkId)).toBe(frameworkId);
    expect(await again.call({ type: 'RECONCILE', reconcile: { tasks: [] } })).toEqual({ ok: true });
    const status = await log2.waitFor((l) => l.updates('keeps-running')[0], 'reconciliation answer');
    expect(status).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION' });
    const state = await c.state();
    const fw = state.frameworks.find((f: any) => f.id === frameworkId);
    expect(fw.active).toBe(true);
    expect(fw.tasks.map((t: any) => [t.id, t.state])).toEqual([['keeps-running', 'TASK_RUNNING']]);
    expect(fw.used_resources.cpus).toBe(0.5);
    // Its next offer leaves room for the running task: nothing is double-booked.
    const [next] = await log2.nextOffers();
    expect(next.resources.find((r) => r.name === 'cpus')!.scalar!.value).toBe(1.5);
  });
});

describe('frameworks', () => {
  test('failover keeps tasks; after failover_timeout they are killed and the ID is refused', async () => {
    const c = (cluster = await TestCluster.start());
    c.startAgent('host');
    await c.waitForAgents(1);
    const first = c.client();
    const log = new EventLog(first, { autoAck: true });
    const id = await first.subscribe({ name: 'flaky', user: 'x', failover_timeout: 1 });
    const [offer] = await log.nextOffers();
    await first.call(launch(offer, [sleeper(offer, 'survives-failover')]));
    await log.waitFor((l) => l.updates('survives-failover').find((s) => s.state === 'TASK_RUNNING'), 'running');

    // A second scheduler takes over while the first is still connected: the first is told.
    const second = c.client();
    const log2 = new EventLog(second, { autoAck: true });
    await second.subscribe({ name: 'flaky', user: 'x', failover_timeout: 1 }, id);
    await log.waitFor((l) => l.of('ERROR').find((e) => e.error.message === 'Framework failed over'), 'failover ERROR');
    let state = await c.state();
    expect(state.frameworks.find((f: any) => f.id === id).tasks).toHaveLength(1);

    second.close();
    const killed = await waitFor(async () => {
      const s = await c.state();
      return s.completed_frameworks.find((f: any) => f.id === id);
    }, 'framework removal after its failover timeout');
    expect(killed.completed_tasks.map((t: any) => t.state)).toEqual(['TASK_KILLED']);
    const third = c.client();
    await expect(third.subscribe({ name: 'flaky', user: 'x' }, id)).rejects.toThrow(/has been removed/);
    expect(log2.of('SUBSCRIBED')).toHaveLength(1);
  });

  test('status updates are resent until acknowledged; duplicates keep their uuid', async () => {
    const c = (cluster = await TestCluster.start());
    c.startAgent('resender', undefined, ['--status-update-retry', '200ms']);
    await c.waitForAgents(1);
    const client = c.client();
    const log = new EventLog(client); // no automatic acknowledgements
    await client.subscribe({ name: 'forgetful', user: 'x' });
    const [offer] = await log.nextOffers();
    await client.call(launch(offer, [sleeper(offer, 'chatty')]));
    const resent = await log.waitFor((l) => {
      const starting = l.updates('chatty').filter((s) => s.state === 'TASK_STARTING');
      return starting.length >= 2 && starting;
    }, 'a resent TASK_STARTING');
    expect(new Set(resent.map((s) => s.uuid)).size).toBe(1);
    expect(log.updates('chatty').some((s) => s.state === 'TASK_RUNNING')).toBe(false); // in order: one at a time

    const { agent_id, task_id, uuid } = resent[0];
    expect(await client.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: agent_id!, task_id, uuid: uuid! } })).toEqual({ ok: true });
    const running = await log.waitFor((l) => l.updates('chatty').find((s) => s.state === 'TASK_RUNNING'), 'TASK_RUNNING after the ack');
    await client.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: agent_id!, task_id, uuid: running.uuid! } });
    const count = log.updates('chatty').length;
    // Once acknowledged nothing more is resent: the count stays put over several retry intervals.
    await new Promise((r) => setTimeout(r, 800));
    expect(log.updates('chatty').length).toBe(count);
  });
});
