import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RssMonitor, groupRss, isSameProcessAlive, parseProcStat, probeCgroup2, readProcStat } from './memory-limit.ts';
import { killGroup, removeDir, tempDir, waitFor } from './testing.ts';

describe('/proc parsing', () => {
  test('parses stat lines whose command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 49 }, (_, i) => String(i + 3));
    fields[0] = 'S'; // state
    fields[2] = '4242'; // pgrp (field 5)
    fields[19] = '987654'; // starttime (field 22)
    const st = parseProcStat(`123 (we ird) (name)) ${fields.join(' ')}`);
    expect(st).toEqual({ pid: 123, state: 'S', ppid: 4, pgrp: 4242, startTime: '987654' });
    expect(parseProcStat('garbage')).toBeNull();
  });

  test('our own process is alive with its start time, not with another one', async () => {
    const me = await readProcStat(process.pid);
    expect(me?.pid).toBe(process.pid);
    expect(await isSameProcessAlive(process.pid, me!.startTime)).toBe(true);
    expect(await isSameProcessAlive(process.pid, '1')).toBe(false);
    expect(await isSameProcessAlive(process.pid, undefined, 'another-boot')).toBe(false);
  });
});

describe('RSS sampling', () => {
  let child: ChildProcess;
  beforeAll(() => {
    // A group of two processes: the shell and a sleep.
    child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30; wait'], { detached: true, stdio: 'ignore' });
  });
  afterAll(() => killGroup(child.pid));

  test('sums RSS over the whole process group', async () => {
    const pgid = child.pid!;
    const totals = await waitFor(async () => {
      const t = await groupRss(new Set([pgid, 999_999_999]));
      return t.get(pgid)! > 0 ? t : undefined;
    }, 'the group to appear');
    expect(totals.get(999_999_999)).toBe(0);
    const single = Number(/VmRSS:\s+(\d+)/.exec(await (await import('node:fs/promises')).readFile(`/proc/${pgid}/status`, 'utf8'))![1]) * 1024;
    await waitFor(async () => (await groupRss(new Set([pgid]))).get(pgid)! > single, 'both members to be counted');
  });

  test('reports a group over its limit once, and not one under it', async () => {
    const monitor = new RssMonitor(20);
    const over: number[] = [];
    const under: number[] = [];
    monitor.watch(child.pid!, 1024, (usage) => over.push(usage)); // 1 KiB: surely exceeded
    const unwatch = monitor.watch(process.pid, 64 * 1024 ** 3, (u) => under.push(u)); // jest's own group, 64 GiB
    await waitFor(() => over.length > 0, 'the report');
    unwatch();
    expect(over).toHaveLength(1);
    expect(over[0]).toBeGreaterThan(1024);
    expect(under).toEqual([]);
    monitor.close();
  });
});

describe('cgroup v2 probe', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('cgroup');
  });
  afterAll(() => removeDir(dir));

  async function fake(controllers: string, selfCgroup = '0::/agora\n') {
    const mount = join(dir, `mnt-${Math.random().toString(36).slice(2)}`);
    await mkdir(join(mount, 'agora'), { recursive: true });
    await writeFile(join(mount, 'agora', 'cgroup.controllers'), controllers);
    await writeFile(join(mount, 'agora', 'cgroup.subtree_control'), '');
    await writeFile(join(dir, 'self'), selfCgroup);
    await writeFile(join(dir, 'mountinfo'), `41 31 0:38 / ${mount} rw,relatime - cgroup2 cgroup2 rw\n`);
    return { procSelfCgroup: join(dir, 'self'), mountinfo: join(dir, 'mountinfo') };
  }

  test('no cgroup2 membership, no memory controller, or no real memory.max: not usable', async () => {
    expect(await probeCgroup2(await fake('cpu memory', '4:memory:/x\n'))).toBeNull();
    expect(await probeCgroup2(await fake('cpu io'))).toBeNull();
    // A plain directory accepts "+memory" but a child gets no memory.max: still refused.
    expect(await probeCgroup2(await fake('cpu memory'))).toBeNull();
  });

  test('this machine (cgroup v1 for memory) falls back to RSS sampling', async () => {
    const real = await probeCgroup2();
    if (real !== null) {
      // A machine with delegated cgroup v2: the probe must have found a real memory.max.
      const { readFile } = await import('node:fs/promises');
      expect(await readFile(join(real, 'cgroup.controllers'), 'utf8')).toMatch(/memory/);
    } else {
      expect(real).toBeNull();
    }
  });
});
