// The echo framework example, run as a user would run it: a separate process subscribing to a real
// master with two real agents, launching echo tasks and printing their stdout read via /files/read.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestCluster } from './helpers/cluster.ts';

const EXAMPLE = fileURLToPath(new URL('../examples/echo-framework.ts', import.meta.url));

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
  cluster.startAgent('agent-1', 'cpus:1;mem:512;disk:1024;ports:[31000-31009]');
  cluster.startAgent('agent-2', 'cpus:1;mem:512;disk:1024;ports:[32000-32009]');
  await cluster.waitForAgents(2);
});

afterAll(() => cluster.cleanup());

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', EXAMPLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('examples/echo-framework.ts runs its tasks on both agents, prints their output and exits 0', async () => {
  const { code, stdout, stderr } = await run(['--master', cluster.url, '--tasks', '4', '--timeout', '20']);
  if (code !== 0 || stderr !== '') throw new Error(`the example exited ${code}\n--- stdout\n${stdout}--- stderr\n${stderr}`);
  for (let i = 1; i <= 4; i++) {
    expect(stdout).toMatch(new RegExp(`echo-${i} stdout: hello from echo-${i} on agent-[12]\\n`));
  }
  // One task per offer per round: the first round lands on both agents.
  expect(stdout).toContain('on agent-1');
  expect(stdout).toContain('on agent-2');
  expect(stdout).toContain('all 4 tasks finished');

  // It tore its framework down on the way out.
  const state = await cluster.state();
  expect(state.frameworks.filter((f: any) => f.name === 'echo-framework')).toEqual([]);
});

test('the example exits non-zero when it cannot reach a master', async () => {
  const { code, stderr } = await run(['--master', 'http://127.0.0.1:1', '--timeout', '5']);
  expect(code).not.toBe(0);
  expect(stderr).toContain('cannot subscribe');
});
