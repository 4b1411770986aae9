// Command-task launch latency: ACCEPT sent → TASK_RUNNING received by the framework, on a real
// master (in this process) and one real agent process, next to a bare `child_process.spawn` of the
// same command measured in the same run (spawn() called → 'spawn' event).
//
// Launches are sequential (one task in flight at a time, one task per offer) so each figure is the
// latency of one launch, not of a queue: the framework takes the next offer, ACCEPTs a LAUNCH of
// `true`, and waits for TASK_RUNNING. Every update is acknowledged so the agent's stream flows.
// Run alone: node --no-node-snapshot test/bench/launch.bench.ts
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { TestCluster } from '../helpers/cluster.ts';
import type { Offer } from '../../host/protocol/messages.ts';
import { printTable, summarize, type BenchRow } from './table.ts';

const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 200);
const WARMUP = 5;
const COMMAND = 'true';

/** The baseline: spawn() of `sh -c 'true'` until its 'spawn' event, one at a time (waits for exit). */
async function spawnBaseline(count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count + WARMUP; i++) {
    const t0 = performance.now();
    const child = spawn('sh', ['-c', COMMAND], { stdio: 'ignore' });
    const spawned = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(performance.now()));
      child.once('error', reject);
    });
    if (i >= WARMUP) samples.push(spawned - t0);
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  }
  return samples;
}

async function launchLatency(count: number): Promise<number[]> {
  const prevLevel = process.env.AGORA_LOG_LEVEL;
  process.env.AGORA_LOG_LEVEL = 'silent';
  const cluster = await TestCluster.start({ allocationIntervalMs: 50 });
  try {
    cluster.startAgent('bench-agent', 'cpus:4;mem:4096;disk:4096;ports:[31000-31099]');
    await cluster.waitForAgents(1);
    const client = cluster.client();

    // Offers waiting to be used, and whoever waits for the next one.
    const offers: Offer[] = [];
    let offerWaiter: (() => void) | undefined;
    // task id → resolve(time TASK_RUNNING arrived)
    const running = new Map<string, (t: number) => void>();

    client.onEvent((e) => {
      if (e.type === 'OFFERS') {
        offers.push(...e.offers.offers);
        offerWaiter?.();
      } else if (e.type === 'UPDATE') {
        const now = performance.now();
        const s = e.update.status;
        if (s.state === 'TASK_RUNNING') running.get(s.task_id.value)?.(now);
        else if (s.state !== 'TASK_STARTING' && s.state !== 'TASK_FINISHED') {
          console.error(`launch bench: ${s.task_id.value} went ${s.state}: ${s.message ?? ''}`);
          running.get(s.task_id.value)?.(NaN);
        }
        if (s.uuid && s.agent_id) {
          // (a late ack may lose its answer when the bench closes the connection: ignore that)
          client.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: s.agent_id, task_id: s.task_id, uuid: s.uuid } }).catch(() => {});
        }
      } else if (e.type === 'RESCIND') {
        const i = offers.findIndex((o) => o.id.value === e.rescind.offer_id.value);
        if (i >= 0) offers.splice(i, 1);
      }
    });
    await client.subscribe({ name: 'launch-bench', user: 'bench' });

    const nextOffer = async (): Promise<Offer> => {
      const deadline = Date.now() + 15_000;
      while (offers.length === 0) {
        if (Date.now() > deadline) throw new Error('launch bench: no offer within 15 s');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          offerWaiter = () => { clearTimeout(timer); resolve(); };
        });
        offerWaiter = undefined;
      }
      return offers.shift()!;
    };

    const samples: number[] = [];
    for (let i = 0; i < count + WARMUP; i++) {
      const offer = await nextOffer();
      const id = `launch-${i}`;
      const ran = new Promise<number>((resolve) => running.set(id, resolve));
      const t0 = performance.now();
      const ack = await client.call({
        type: 'ACCEPT',
        accept: {
          offer_ids: [offer.id],
          operations: [{
            type: 'LAUNCH',
            launch: {
              task_infos: [{
                name: id,
                task_id: { value: id },
                agent_id: offer.agent_id,
                command: { shell: true, value: COMMAND },
                resources: [
                  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                  { name: 'mem', type: 'SCALAR', scalar: { value: 16 } },
                ],
              }],
            },
          }],
          // The leftovers come straight back (the default filter would hold them for 5 s).
          filters: { refuse_seconds: 0 },
        },
      });
      if (!ack.ok) throw new Error(`launch bench: ACCEPT refused: ${ack.error}`);
      const t1 = await Promise.race([
        ran,
        new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`launch bench: ${id} not RUNNING within 15 s`)), 15_000).unref()),
      ]);
      running.delete(id);
      if (Number.isNaN(t1)) throw new Error(`launch bench: ${id} failed to run`);
      if (i >= WARMUP) samples.push(t1 - t0);
    }
    return samples;
  } finally {
    await cluster.cleanup();
    if (prevLevel === undefined) delete process.env.AGORA_LOG_LEVEL;
    else process.env.AGORA_LOG_LEVEL = prevLevel;
  }
}

export async function benchLaunch(): Promise<BenchRow[]> {
  const launches = await launchLatency(LAUNCHES);
  const spawns = await spawnBaseline(LAUNCHES);
  const base = summarize(`baseline: bare child_process.spawn (spawn() → 'spawn' event)`, `${spawns.length} spawns`, spawns);
  const fmt = (ms: number) => ms.toFixed(2);
  return [
    summarize(`command task launch (ACCEPT → TASK_RUNNING, sh -c '${COMMAND}')`, `${launches.length} launches, 1 agent`, launches, {
      baseline: `bare spawn of sh -c '${COMMAND}': p50 ${fmt(base.p50)} / p99 ${fmt(base.p99)} ms`,
    }),
    base,
  ];
}

// Run on its own: node --no-node-snapshot test/bench/launch.bench.ts
if (import.meta.url === `file://${process.argv[1]}`) printTable(await benchLaunch());
