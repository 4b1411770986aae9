// `agora dev`: a master in this process and N agents as child processes, each with its own work
// dir, hostname agent-i, a distinct ports range and an equal share of this machine. Ctrl-C stops
// the agents (killing their tasks) and then the master.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../common/log.ts';
import { defaultResources } from '../agent/machine.ts';
import { Resources } from '../core/resources.ts';
import { formatResources } from '../core/resource-text.ts';
import type { MasterOptions } from '../master/master.ts';
import { startMaster, type MasterServer } from '../master/server.ts';
import { onShutdown } from './agora.ts';

export interface DevOptions {
  agents: number;
  host: string;
  port: number;
  workDir: string;
  secret?: string;
  master: Partial<MasterOptions>;
}

export interface DevCluster {
  server: MasterServer;
  agents: ChildProcess[];
  close(): Promise<void>;
}

const CLI = fileURLToPath(new URL('./agora.ts', import.meta.url));
const PORTS_PER_AGENT = 1000;

/** This machine's resources divided among `n` agents; agent i gets its own slice of ports. */
export function agentShare(machine: Resources, n: number, i: number): Resources {
  const share = (name: string, step: number) => Math.max(step, Math.floor(machine.scalar(name) / n / step) * step);
  const first = 31000 + (i - 1) * PORTS_PER_AGENT;
  return Resources.fromProto([
    { name: 'cpus', type: 'SCALAR', scalar: { value: share('cpus', 0.1) } },
    { name: 'mem', type: 'SCALAR', scalar: { value: share('mem', 1) } },
    { name: 'disk', type: 'SCALAR', scalar: { value: share('disk', 1) } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: first, end: first + PORTS_PER_AGENT - 1 }] } },
  ]);
}

export async function startDevCluster(o: DevOptions): Promise<DevCluster> {
  const server = await startMaster({
    host: o.host, port: o.port, workDir: join(o.workDir, 'master'), secret: o.secret, ...o.master,
    logger: createLogger('master'),
  });
  const machine = Resources.fromProto(await defaultResources(o.workDir));
  const agents: ChildProcess[] = [];
  for (let i = 1; i <= o.agents; i++) {
    const args = [
      '--no-node-snapshot', CLI, 'agent', '--master', server.url, '--port', '0',
      '--work-dir', join(o.workDir, `agent-${i}`), '--hostname', `agent-${i}`,
      '--resources', formatResources(agentShare(machine, o.agents, i)),
    ];
    const child = spawn(process.execPath, args, {
      // Its own process group: a terminal's Ctrl-C reaches only this process, which then stops
      // the agents in order (SIGUSR1: kill tasks, then exit) instead of agents exiting on their own.
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...(o.secret ? { AGORA_SECRET: o.secret } : {}) },
    });
    child.on('exit', (code, signal) => {
      if (!closing) console.error(`agora dev: agent-${i} exited (${signal ?? `code ${code}`})`);
    });
    agents.push(child);
  }
  let closing = false;
  return {
    server,
    agents,
    async close() {
      closing = true;
      await Promise.all(agents.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGUSR1');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }));
      await server.close();
    },
  };
}

export async function runDev(o: DevOptions): Promise<void> {
  const cluster = await startDevCluster(o);
  const token = o.secret ? `?token=${encodeURIComponent(o.secret)}` : '';
  console.log(`\n  Agora dev cluster: master ${cluster.server.url}/${token}  (${o.agents} agents; Ctrl-C stops)`);
  console.log(`  state:   curl ${cluster.server.url}/master/state${o.secret ? ' -H "Authorization: Bearer $AGORA_SECRET"' : ''}\n`);
  onShutdown(() => cluster.close());
}
