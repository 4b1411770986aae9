import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Resource, TaskInfo, TaskState } from '../protocol/messages.ts';
import type { KillIntent, ProcessCheckpoint } from './checkpoint.ts';
import { CommandExecutor, metaDir, sandboxDir, taskEnvironment, type CommandTaskSpec, type ExecutorEnv } from './command-executor.ts';
import { RssMonitor, readProcStat } from './memory-limit.ts';
import { killGroup, removeDir, silentLogger, tempDir, waitFor } from './testing.ts';

type Reported = { state: TaskState; message?: string; reason?: string };

let workDir: string;
let rss: RssMonitor;
const groups: number[] = [];
let seq = 0;

beforeAll(async () => {
  workDir = await tempDir('executor');
  rss = new RssMonitor(50);
});
afterEach(() => {
  for (const g of groups.splice(0)) killGroup(g);
});
afterAll(async () => {
  rss.close();
  await removeDir(workDir);
});

const env = (): ExecutorEnv => ({ rss, cgroupBase: null, logger: silentLogger() });

function makeTask(command: TaskInfo['command'], resources: Resource[] = [], extra: Partial<TaskInfo> = {}): TaskInfo {
  return { name: 't', task_id: { value: `task-${++seq}` }, agent_id: { value: 'a1' }, resources, command, ...extra };
}

function spec(task: TaskInfo, over: Partial<CommandTaskSpec> = {}): CommandTaskSpec {
  return { workDir, frameworkId: 'fw1', agentId: 'a1', hostname: 'host-1', task, defaultGracePeriodMs: 3000, taskKillingState: false, ...over };
}

/** Collects reported states and checkpoints. */
function recorder() {
  const states: Reported[] = [];
  const checkpoints: Array<{ proc: ProcessCheckpoint; kill?: KillIntent }> = [];
  return {
    states,
    checkpoints,
    hooks: {
      checkpoint: async (proc: ProcessCheckpoint, kill: KillIntent | undefined) => {
        checkpoints.push({ proc, kill });
        groups.push(proc.pgid);
      },
      status: (s: Reported) => void states.push(s),
    },
    terminal: () => waitFor(() => states.find((s) => ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED'].includes(s.state)), 'a terminal state'),
  };
}

const shell = (value: string): TaskInfo['command'] => ({ shell: true, value });
const readSandbox = (task: TaskInfo, file: string) => readFile(join(sandboxDir(workDir, 'fw1', task.task_id.value), file), 'utf8');

async function processAlive(pid: number): Promise<boolean> {
  const st = await readProcStat(pid);
  return st !== null && st.state !== 'Z';
}

describe('command executor', () => {
  test('runs a shell command in its sandbox: STARTING, RUNNING, FINISHED, stdout and stderr in files', async () => {
    const task = makeTask(shell('echo hello; echo oops >&2; pwd'));
    const r = recorder();
    await CommandExecutor.launch(spec(task), r.hooks, env());
    const end = await r.terminal();
    expect(r.states.map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(end.message).toBe('Command exited with status 0');
    const sandbox = sandboxDir(workDir, 'fw1', task.task_id.value);
    expect(await readSandbox(task, 'stdout')).toBe(`hello\n${sandbox}\n`);
    expect(await readSandbox(task, 'stderr')).toBe('oops\n');
    expect(r.checkpoints[0].proc.pid).toBe(r.checkpoints[0].proc.pgid);
  });

  test('a non-zero exit is TASK_FAILED with the status', async () => {
    const task = makeTask(shell('echo before; exit 3'));
    const r = recorder();
    await CommandExecutor.launch(spec(task), r.hooks, env());
    const end = await r.terminal();
    expect(end).toEqual({ state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'Command exited with status 3' });
  });

  test('shell=false execs value with arguments (argv[0] first), no shell interpretation', async () => {
    const task = makeTask({ shell: false, value: '/bin/echo', arguments: ['echo', 'a  b', '$HOME'] });
    const r = recorder();
    await CommandExecutor.launch(spec(task), r.hooks, env());
    expect((await r.terminal()).state).toBe('TASK_FINISHED');
    expect(await readSandbox(task, 'stdout')).toBe('a  b $HOME\n');
  });

  test('environment: Mesos variables, ports, task variables; the agent secret is not inherited', async () => {
    const task = makeTask(shell('env > env.txt'), [
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31002 }, { begin: 31010, end: 31010 }] } },
    ], {});
    task.command!.environment = { variables: [{ name: 'GREETING', value: 'hi there' }, { name: 'HOST', value: 'overridden' }] };
    const r = recorder();
    const sandbox = sandboxDir(workDir, 'fw1', task.task_id.value);
    await CommandExecutor.launch(spec(task), r.hooks, { ...env(), baseEnv: { PATH: process.env.PATH, AGORA_SECRET: 's3cret', KEEP: '1' } });
    expect((await r.terminal()).state).toBe('TASK_FINISHED');
    const vars = Object.fromEntries((await readSandbox(task, 'env.txt')).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(vars).toMatchObject({
      MESOS_TASK_ID: task.task_id.value, MESOS_FRAMEWORK_ID: 'fw1', MESOS_AGENT_ID: 'a1', MESOS_SANDBOX: sandbox, MESOS_DIRECTORY: sandbox,
      AGORA_TASK_ID: task.task_id.value, PORT0: '31000', PORT1: '31001', PORT2: '31002', PORT3: '31010', PORT: '31000',
      PORTS: '31000,31001,31002,31010', GREETING: 'hi there', HOST: 'overridden', KEEP: '1',
    });
    expect(vars.AGORA_SECRET).toBeUndefined();
    expect(vars.PORT4).toBeUndefined();
  });

  test('HOST is the agent hostname unless the task overrides it', () => {
    const task = makeTask(shell('true'));
    expect(taskEnvironment(spec(task), '/sb', {}).HOST).toBe('host-1');
  });

  test('kill: SIGTERM reaches the whole process group, TASK_KILLED', async () => {
    const task = makeTask(shell('sleep 60 & echo $! > bg.pid; sleep 60; wait'));
    const r = recorder();
    const ex = await CommandExecutor.launch(spec(task), r.hooks, env());
    const bg = Number(await waitFor(() => readSandbox(task, 'bg.pid').catch(() => ''), 'the background pid'));
    expect(await processAlive(bg)).toBe(true);
    await ex.kill(5000);
    const end = await r.terminal();
    expect(end.state).toBe('TASK_KILLED');
    expect(end.message).toBe('Command terminated with signal SIGTERM');
    await waitFor(async () => !(await processAlive(bg)), 'the background process to die');
    expect(r.checkpoints.at(-1)?.kill).toEqual({ cause: 'requested', grace_period_ms: 5000 });
  });

  test('kill: a command ignoring SIGTERM gets SIGKILL after the grace period', async () => {
    const task = makeTask(shell("trap '' TERM; echo ready > ready; while :; do sleep 0.05; done"));
    const r = recorder();
    const ex = await CommandExecutor.launch(spec(task, { taskKillingState: true }), r.hooks, env());
    await waitFor(() => readSandbox(task, 'ready').catch(() => ''), 'the trap to be installed');
    const started = Date.now();
    await ex.kill(300);
    const end = await r.terminal();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(end.state).toBe('TASK_KILLED');
    expect(end.message).toBe('Command terminated with signal SIGKILL');
    expect(r.states.map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
  });

  test('memory: a task whose group RSS exceeds its mem is killed with REASON_CONTAINER_LIMITATION_MEMORY', async () => {
    // Node's own baseline is ~40-50 MB; it then grows by 16 MB every 20 ms (touched pages count).
    const grow = 'const a=[];setInterval(()=>a.push(Buffer.alloc(16<<20,1)),20)';
    const task = makeTask({ shell: false, value: process.execPath, arguments: ['node', '-e', grow] }, [
      { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
    ]);
    const r = recorder();
    await CommandExecutor.launch(spec(task), r.hooks, env());
    const end = await r.terminal();
    expect(end.state).toBe('TASK_FAILED');
    expect(end.reason).toBe('REASON_CONTAINER_LIMITATION_MEMORY');
    expect(end.message).toMatch(/^Memory limit exceeded: the task used \d+\.\d MB, its limit is 128\.0 MB$/);
    expect(r.checkpoints.at(-1)?.kill?.cause).toBe('memory');
  });

  test('a task below its memory limit is left alone', async () => {
    const task = makeTask(shell('sleep 0.3'), [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }]);
    const r = recorder();
    await CommandExecutor.launch(spec(task), r.hooks, env());
    expect((await r.terminal()).state).toBe('TASK_FINISHED');
  });

  test('a launch that cannot spawn is TASK_FAILED, not a crash', async () => {
    const task = makeTask({ shell: false, value: '/nonexistent/program', arguments: ['x'] });
    const r = recorder();
    await CommandExecutor.launch(spec(task), r.hooks, env());
    const end = await r.terminal();
    expect(end).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'Command exited with status 127' });
    const bad = makeTask(shell('true'));
    bad.command!.environment = { variables: [{ name: 'BAD', value: 'nul\0byte' }] };
    const r2 = recorder();
    await CommandExecutor.launch(spec(bad), r2.hooks, env());
    expect(await r2.terminal()).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
  });
});

describe('command executor across agent restarts', () => {
  test('detach leaves the task running; recover re-attaches and reads its exit status when it ends', async () => {
    const task = makeTask(shell('while [ ! -e go ]; do sleep 0.02; done; exit 7'));
    const r = recorder();
    const first = await CommandExecutor.launch(spec(task), r.hooks, env());
    const proc = r.checkpoints[0].proc;
    expect(proc.start_time).toMatch(/^\d+$/); // identifies this incarnation of the pid
    first.detach();
    expect(await processAlive(proc.pid)).toBe(true);

    const r2 = recorder();
    CommandExecutor.recover(spec(task), r2.hooks, env(), proc, undefined);
    await writeFile(join(sandboxDir(workDir, 'fw1', task.task_id.value), 'go'), '');
    expect(await r2.terminal()).toEqual({ state: 'TASK_FAILED', reason: 'REASON_COMMAND_EXECUTOR_FAILED', message: 'Command exited with status 7' });
    expect(r.states.map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING']); // the detached one said nothing more
  });

  test('a task that ended while the agent was away is reported from its exit status file', async () => {
    const task = makeTask(shell('echo done'));
    const r = recorder();
    const first = await CommandExecutor.launch(spec(task), r.hooks, env());
    first.detach();
    const proc = r.checkpoints[0].proc;
    await waitFor(async () => !(await processAlive(proc.pid)), 'the task to end');
    const r2 = recorder();
    CommandExecutor.recover(spec(task), r2.hooks, env(), proc, undefined);
    expect(await r2.terminal()).toEqual({ state: 'TASK_FINISHED', message: 'Command exited with status 0' });
  });

  test('a task gone without an exit status is TASK_FAILED with REASON_EXECUTOR_TERMINATED', async () => {
    const task = makeTask(shell('true'));
    await mkdir(metaDir(workDir, 'fw1', task.task_id.value), { recursive: true });
    const child = spawn('true');
    await once(child, 'exit');
    const proc = { pid: child.pid!, pgid: child.pid! };
    const r = recorder();
    CommandExecutor.recover(spec(task), r.hooks, env(), proc, undefined);
    const end = await r.terminal();
    expect(end.state).toBe('TASK_FAILED');
    expect(end.reason).toBe('REASON_EXECUTOR_TERMINATED');
    expect(end.message).toMatch(/agent restarted/);
  });

  test('a recycled pid (different start time) is not mistaken for the task', async () => {
    const task = makeTask(shell('true'));
    // Our own pid is alive, but its start time differs from the recorded one.
    const proc = { pid: process.pid, pgid: 999_999_999, start_time: '1' };
    const r = recorder();
    CommandExecutor.recover(spec(task), r.hooks, env(), proc, undefined);
    expect((await r.terminal()).reason).toBe('REASON_EXECUTOR_TERMINATED');
  });

  test('a kill interrupted by a restart is completed after recovery and reported as TASK_KILLED', async () => {
    const task = makeTask(shell("trap '' TERM; echo ready > ready; while :; do sleep 0.05; done"));
    const r = recorder();
    const first = await CommandExecutor.launch(spec(task), r.hooks, env());
    await waitFor(() => readSandbox(task, 'ready').catch(() => ''), 'the trap to be installed');
    await first.kill(60_000); // SIGTERM is ignored; the agent "restarts" before SIGKILL
    first.detach();
    const { proc, kill } = r.checkpoints.at(-1)!;
    expect(kill?.cause).toBe('requested');
    const r2 = recorder();
    CommandExecutor.recover(spec(task), r2.hooks, env(), proc, { ...kill!, grace_period_ms: 50 });
    expect((await r2.terminal()).state).toBe('TASK_KILLED');
  });
});
