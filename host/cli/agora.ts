#!/usr/bin/env -S node --no-node-snapshot
// `agora`: dev (master + agents in one command), master, agent. Flags follow Mesos' names where
// Mesos has one. A bad flag or value is one line on stderr and exit code 2.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { createLogger } from '../common/log.ts';
import { startMaster } from '../master/server.ts';
import { Agent } from '../agent/agent.ts';
import { defaultResources } from '../agent/machine.ts';
import { runDev } from './dev.ts';
import {
  parseAttributeFlag, parseCount, parseDuration, parsePort, parseResourceFlag, parseUrl, parseWeights,
} from './flags.ts';

const secretOption = () =>
  new Option('--secret <secret>', 'shared secret required from every client (env AGORA_SECRET)').env('AGORA_SECRET');

/** Stops on the first of `signals`; a second signal exits at once. */
export function onShutdown(stop: (signal: string) => Promise<void>, signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (err) => {
        console.error(`agora: error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, handler);
}

function masterFlags(cmd: Command): Command {
  return cmd
    .option('--agent-ping-timeout <duration>', 'an agent silent this long is unreachable', parseDuration, 15_000)
    .option('--agent-removal-timeout <duration>', 'an unreachable agent is removed (tasks TASK_LOST) after this', parseDuration)
    .option('--offer-timeout <duration>', 'rescind offers not answered within this time (default: never)', parseDuration, 0)
    .option('--allocation-interval <duration>', 'time between batch allocations', parseDuration, 1000)
    .option('--weights <role=w,...>', 'role weights for DRF', parseWeights, {});
}

interface MasterFlags {
  agentPingTimeout: number;
  agentRemovalTimeout?: number;
  offerTimeout: number;
  allocationInterval: number;
  weights: Record<string, number>;
}

export const masterOptions = (o: MasterFlags) => ({
  agentPingTimeoutMs: o.agentPingTimeout,
  agentRemovalTimeoutMs: o.agentRemovalTimeout ?? o.agentPingTimeout,
  offerTimeoutMs: o.offerTimeout,
  allocationIntervalMs: o.allocationInterval,
  weights: o.weights,
});

export function buildProgram(): Command {
  const program = new Command('agora')
    .description('A cluster resource manager: DRF offers, sandboxed frameworks, a live dashboard.')
    .version('0.1.0')
    .showSuggestionAfterError(true);

  masterFlags(
    program
      .command('dev')
      .description('run a master and N agents (and the plugin host) in one command')
      .option('--agents <n>', 'number of agents', parseCount, 2)
      .option('--host <ip>', 'address the master binds', '127.0.0.1')
      .option('--port <port>', 'master port', parsePort, 5050)
      .option('--work-dir <dir>', 'where state, sandboxes and logs go', '.agora')
      .addOption(secretOption()),
  ).action(async (o) => {
    await runDev({ agents: o.agents, host: o.host, port: o.port, secret: o.secret, workDir: resolve(o.workDir), master: masterOptions(o) });
  });

  masterFlags(
    program
      .command('master')
      .description('run a master')
      .option('--host <ip>', 'address to bind (anything but loopback needs a secret)', '127.0.0.1')
      .option('--port <port>', 'port for HTTP and socket.io', parsePort, 5050)
      .option('--work-dir <dir>', 'where the registry is kept', '.agora/master')
      .addOption(secretOption()),
  ).action(async (o) => {
    const server = await startMaster({ host: o.host, port: o.port, workDir: resolve(o.workDir), secret: o.secret, ...masterOptions(o) });
    console.log(`agora master listening on ${server.url}`);
    onShutdown(() => server.close());
  });

  program
    .command('agent')
    .description('run an agent that offers this machine\'s resources to a master')
    .requiredOption('--master <url>', 'the master, e.g. http://127.0.0.1:5050', parseUrl)
    .option('--host <ip>', 'address the agent\'s HTTP server binds', '127.0.0.1')
    .option('--port <port>', 'port of the agent\'s HTTP server (files API)', parsePort, 5051)
    .option('--advertise-ip <ip>', 'address the master and others use to reach this agent')
    .option('--work-dir <dir>', 'where sandboxes and the agent\'s state go')
    .option('--resources <spec>', 'e.g. "cpus:4;mem:8192;disk:40960;ports:[31000-32000]" (default: this machine)', parseResourceFlag)
    .option('--attributes <spec>', 'e.g. "rack:a;zone:z1"', parseAttributeFlag, [])
    .option('--hostname <name>', 'name shown for this agent')
    .option('--status-update-retry <duration>', 'first resend interval of unacknowledged status updates (doubles up to 1m)', parseDuration, 2000)
    .addOption(secretOption())
    .action(async (o) => {
      const hostname: string = o.hostname ?? (await import('node:os')).hostname();
      const workDir = resolve(o.workDir ?? `.agora/agent-${hostname}`);
      const resources = o.resources ? o.resources.toProto() : await defaultResources(workDir);
      const agent = new Agent({
        masterUrl: o.master, host: o.host, port: o.port, advertiseIp: o.advertiseIp, workDir, hostname,
        resources, attributes: o.attributes, secret: o.secret, logger: createLogger(hostname),
        statusUpdateRetryMinMs: o.statusUpdateRetry,
      });
      await agent.start();
      onShutdown(async (signal) => {
        // SIGTERM leaves tasks running for the next start to recover (as a Mesos agent does);
        // SIGUSR1 (sent by `agora dev` on exit) kills them first.
        if (signal === 'SIGUSR1') await agent.shutdown();
        await agent.stop();
      }, ['SIGINT', 'SIGTERM', 'SIGUSR1']);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s.split('\n')[0] + '\n') });
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
      process.exit(2);
    }
    console.error(`agora: ${(err as Error).message}`);
    process.exit(1);
  }
}

if (import.meta.main) await main(process.argv);
