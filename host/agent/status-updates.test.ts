import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import type { StatusUpdate } from '../protocol/messages.ts';
import { checkpointPath, openCheckpoint, type AgentStore } from './checkpoint.ts';
import { StatusUpdateManager } from './status-updates.ts';
import { removeDir, silentLogger, tempDir, waitFor } from './testing.ts';

let dir: string;
let store: AgentStore;
let managers: StatusUpdateManager[];

beforeEach(async () => {
  dir = await tempDir('updates');
  store = await openCheckpoint(dir);
  managers = [];
});
afterEach(async () => {
  for (const m of managers) m.close();
  await store.close().catch(() => undefined);
  await removeDir(dir);
});

function manager(min = 20, max = 80, onTerminal?: (fw: string, task: string) => void) {
  const sent: Array<{ at: number; update: StatusUpdate }> = [];
  const m = new StatusUpdateManager({
    store, send: (update) => void sent.push({ at: Date.now(), update }), onTerminalAcknowledged: onTerminal,
    retryMinMs: min, retryMaxMs: max, logger: silentLogger(),
  });
  m.setAgentId('agent-1');
  managers.push(m);
  return { m, sent, uuids: () => sent.map((s) => s.update.status.uuid) };
}

const task = (id: string) => ({ value: id });

describe('status update manager', () => {
  test('an update is complete, checkpointed before it is sent, and sent once connected', async () => {
    const { m, sent } = manager();
    const update = await m.update('fw', { task_id: task('t1'), state: 'TASK_RUNNING', message: 'hi' });
    expect(sent).toHaveLength(0); // not connected yet
    expect(update.status).toMatchObject({ source: 'SOURCE_EXECUTOR', agent_id: { value: 'agent-1' }, state: 'TASK_RUNNING', message: 'hi' });
    expect(Buffer.from(update.status.uuid, 'base64')).toHaveLength(16);
    expect(update.status.timestamp).toBeCloseTo(Date.now() / 1000, 0);
    const onDisk = JSON.parse(await readFile(checkpointPath(dir), 'utf8'));
    expect(onDisk.updates.map((u: StatusUpdate) => u.status.uuid)).toEqual([update.status.uuid]);
    m.resume();
    expect(sent.map((s) => s.update)).toEqual([update]);
  });

  test('the head is resent with exponential backoff up to the maximum until acknowledged', async () => {
    const { m, sent } = manager(20, 80);
    m.resume();
    const u = await m.update('fw', { task_id: task('t1'), state: 'TASK_RUNNING' });
    await waitFor(() => sent.length >= 6, 'six transmissions');
    expect(new Set(sent.map((s) => s.update.status.uuid))).toEqual(new Set([u.status.uuid]));
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i].at);
    // Expected delays: 20, 40, 80, 80, 80 (timers may fire a millisecond early, never much).
    [20, 40, 80, 80, 80].forEach((want, i) => expect(gaps[i]).toBeGreaterThanOrEqual(want - 2));
    expect(m.acknowledge('fw', 't1', u.status.uuid)).toBe(true);
    const count = sent.length;
    // Prove silence after the ack by waiting on something that is sent later on another stream.
    const other = await m.update('fw', { task_id: task('t2'), state: 'TASK_RUNNING' });
    await waitFor(() => sent.filter((s) => s.update.status.uuid === other.status.uuid).length >= 4, 'resends of another update');
    expect(sent.slice(count).every((s) => s.update.status.uuid === other.status.uuid)).toBe(true);
  });

  test('per task FIFO: the next update waits for the head, a duplicate ack is ignored', async () => {
    const { m, sent, uuids } = manager(1000, 1000);
    m.resume();
    const a = await m.update('fw', { task_id: task('t1'), state: 'TASK_STARTING' });
    const b = await m.update('fw', { task_id: task('t1'), state: 'TASK_RUNNING' });
    const c = await m.update('fw', { task_id: task('t2'), state: 'TASK_RUNNING' }); // another task: its own stream
    expect(uuids()).toEqual([a.status.uuid, c.status.uuid]);
    expect(m.acknowledge('fw', 't1', b.status.uuid)).toBe(false); // not the head: ignored
    expect(m.acknowledge('fw', 't1', a.status.uuid)).toBe(true);
    expect(uuids()).toEqual([a.status.uuid, c.status.uuid, b.status.uuid]);
    expect(m.acknowledge('fw', 't1', a.status.uuid)).toBe(false); // duplicate
    expect(m.acknowledge('other', 't1', b.status.uuid)).toBe(false); // wrong framework
    expect(m.pending('fw', 't1').map((u) => u.status.uuid)).toEqual([b.status.uuid]);
    expect(sent).toHaveLength(3);
    await waitFor(async () => JSON.parse(await readFile(checkpointPath(dir), 'utf8')).updates.length === 2, 'the ack on disk');
  });

  test('nothing is sent while paused; resume sends the heads at once', async () => {
    const { m, sent } = manager(10, 10);
    m.resume();
    const a = await m.update('fw', { task_id: task('t1'), state: 'TASK_RUNNING' });
    m.pause();
    const n = sent.length;
    const b = await m.update('fw', { task_id: task('t2'), state: 'TASK_RUNNING' });
    expect(sent.length).toBe(n);
    m.resume();
    expect(sent.slice(n).map((s) => s.update.status.uuid).sort()).toEqual([a.status.uuid, b.status.uuid].sort());
  });

  test('an acknowledged terminal update ends the stream and tells the owner', async () => {
    const ended: string[] = [];
    const { m } = manager(1000, 1000, (fw, t) => ended.push(`${fw}/${t}`));
    m.resume();
    const a = await m.update('fw', { task_id: task('t1'), state: 'TASK_RUNNING' });
    const b = await m.update('fw', { task_id: task('t1'), state: 'TASK_FINISHED' });
    m.acknowledge('fw', 't1', a.status.uuid);
    expect(ended).toEqual([]);
    m.acknowledge('fw', 't1', b.status.uuid);
    expect(ended).toEqual(['fw/t1']);
    expect(m.pending()).toEqual([]);
  });

  test('unacknowledged updates survive a restart and are resent, in order, with the same uuids', async () => {
    const first = manager(1000, 1000);
    const a = await first.m.update('fw', { task_id: task('t1'), state: 'TASK_STARTING' });
    const b = await first.m.update('fw', { task_id: task('t1'), state: 'TASK_RUNNING' });
    first.m.close();
    await store.close();

    store = await openCheckpoint(dir);
    const second = manager(1000, 1000);
    expect(second.m.pending().map((u) => u.status.uuid)).toEqual([a.status.uuid, b.status.uuid]);
    second.m.resume();
    expect(second.uuids()).toEqual([a.status.uuid]);
    second.m.acknowledge('fw', 't1', a.status.uuid);
    expect(second.uuids()).toEqual([a.status.uuid, b.status.uuid]);
  });

  test('cleanupFramework drops a framework\'s streams and their checkpointed updates', async () => {
    const { m, sent } = manager(10, 10);
    await m.update('gone', { task_id: task('t1'), state: 'TASK_KILLED' });
    const keep = await m.update('fw', { task_id: task('t1'), state: 'TASK_RUNNING' });
    m.cleanupFramework('gone');
    expect(m.pending().map((u) => u.status.uuid)).toEqual([keep.status.uuid]);
    m.resume();
    expect(sent.map((s) => s.update.status.uuid)).toEqual([keep.status.uuid]);
    await waitFor(async () => JSON.parse(await readFile(checkpointPath(dir), 'utf8')).updates.length === 1, 'the cleanup on disk');
  });
});
