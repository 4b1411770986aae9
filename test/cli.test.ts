// The CLI as a user meets it: bad flags and unparsable resources are one line and exit code 2;
// `agora dev` starts a master with agents, answers on /master/state and stops cleanly on SIGTERM.
import { describe, expect, test } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, waitFor, killProcessesUnder } from './helpers/cluster.ts';

const agora = (...args: string[]) =>
  spawnSync(process.execPath, ['--no-node-snapshot', CLI, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('agora CLI', () => {
  test.each([
    [['agent', '--master', 'http://127.0.0.1:1', '--resources', 'cpus:abc'], /cpus:abc/],
    [['agent', '--master', 'http://127.0.0.1:1', '--resources', 'ports:[200-100]'], /200-100/],
    [['agent', '--master', 'not a url'], /not an http\(s\) URL/],
    [['agent'], /--master/],
    [['master', '--port', '99999'], /not a port/],
    [['master', '--agent-ping-timeout', '5 parsecs'], /duration|unit/],
    [['dev', '--agents', '0'], /count from 1/],
    [['master', '--bogus'], /unknown option '--bogus'/],
    [['launch-rockets'], /unknown command/],
  ])('%j is refused with one line and exit code 2', (args, message) => {
    const r = agora(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message as RegExp);
  });

  test('--help exits 0', () => {
    const r = agora('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('dev');
  });

  test('agora dev runs a master and two agents, and stops everything on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agora-dev-'));
    const child = spawn(process.execPath, ['--no-node-snapshot', CLI, 'dev', '--port', '0', '--work-dir', dir], {
      env: { ...process.env, AGORA_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', () => {});
    try {
      const url = await waitFor(() => /master (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], 'the printed master URL');
      const state: any = await waitFor(async () => {
        const s: any = await (await fetch(`${url}/master/state`)).json();
        return s.slaves.filter((a: any) => a.active).length === 2 && s;
      }, 'two agents');
      const hosts = state.slaves.map((a: any) => a.hostname).sort();
      expect(hosts).toEqual(['agent-1', 'agent-2']);
      const ports = state.slaves.map((a: any) => a.resources.ports).sort();
      expect(ports).toEqual(['[31000-31999]', '[32000-32999]']);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await killProcessesUnder(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
