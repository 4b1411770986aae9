// The allocator's full cycle at Mesos' benchmark sizes (cf. HierarchicalAllocator_BENCHMARK_Test
// in apache/mesos src/tests/hierarchical_allocator_benchmarks.cpp): every agent has cpus, mem, disk
// and 16 fragmented port ranges; frameworks spread over ten roles (role-0 weighs 2); ~20% of
// frameworks decline every offer with refuse_seconds, so their filters are consulted on each walk.
//
// Each round: recover all outstanding offers (the declining share with refuse_seconds = 5, rounds
// 1 s apart, so each keeps ~5 rounds of filters alive), then time one allocate(now) over all agents.
// A last row is a stress case: a fifth of the frameworks are filtered on every agent and sort
// first, so every agent's walk steps past all of them.
import { performance } from 'node:perf_hooks';
import { Allocator, type OfferDecision } from '../../host/core/allocator.ts';
import { Resources } from '../../host/core/resources.ts';
import { summarize, type BenchRow } from './table.ts';

interface Scenario {
  agents: number;
  frameworks: number;
  rounds: number;
  /** Frameworks are spread over this many roles (default ROLES). */
  roles?: number;
  baseline: string;
  targetMs?: number;
}

// Mesos 1.7.1's published allocation-cycle times for the same sizes (release notes / perf blog).
const SCENARIOS: Scenario[] = [
  { agents: 1_000, frameworks: 100, rounds: 60, baseline: 'Mesos 1.7.1 ≈ 0.2 s' },
  { agents: 5_000, frameworks: 500, rounds: 40, baseline: 'Mesos 1.7.1 ≈ 0.5 s' },
  { agents: 10_000, frameworks: 1_000, rounds: 40, baseline: 'Mesos 1.7.1 ≈ 1.4 s', targetMs: 25 },
  { agents: 20_000, frameworks: 2_000, rounds: 15, baseline: 'Mesos 1.7.1 ≈ 4.4 s' },
  // The same 10k/1k with every framework in one role: the sorter's order is 1000 long, so each
  // allocation shifts further (see "Performance" in host/core/README.md).
  { agents: 10_000, frameworks: 1_000, rounds: 30, roles: 1, baseline: 'Mesos 1.7.1 ≈ 1.4 s' },
];
const WARMUP_ROUNDS = 3;
const ROLES = 10;
const FILTERING_SHARE = 5; // every 5th framework declines with a filter
const REFUSE_SECONDS = 5;

const k = (n: number): string => (n >= 1000 ? `${n / 1000}k` : String(n));

/** Deterministic, so runs are comparable. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** A machine of varied size with 16 port ranges carved out of 31000-32023 (fragmented, as after use). */
function agentResources(i: number): Resources {
  const ranges = [];
  for (let r = 0; r < 16; r++) {
    const begin = 31000 + r * 64 + (i % 7);
    ranges.push({ begin, end: begin + 31 - (i % 5) });
  }
  return Resources.fromParts({
    scalars: { cpus: 16 + (i % 4) * 16, mem: 65536 + (i % 3) * 65536, disk: 1_000_000 },
    ranges: { ports: ranges },
  });
}

function build(agents: number, frameworks: number, roles: number): { allocator: Allocator; totals: Resources[]; ids: string[] } {
  const weights: Record<string, number> = { 'role-0': 2 };
  const allocator = new Allocator({ weights, random: lcg(42) });
  const totals: Resources[] = [];
  for (let i = 0; i < agents; i++) {
    const total = agentResources(i);
    totals.push(total);
    allocator.addAgent(`agent-${i}`, total);
  }
  const ids: string[] = [];
  for (let f = 0; f < frameworks; f++) {
    const id = `fw-${String(f).padStart(5, '0')}`;
    ids.push(id);
    allocator.addFramework(id, [`role-${f % roles}`]);
  }
  return { allocator, totals, ids };
}

function measure(allocator: Allocator, rounds: number, refuse: (frameworkId: string) => number | undefined, startAt = 0): number[] {
  const samples: number[] = [];
  let outstanding: OfferDecision[] = [];
  let now = startAt;
  for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
    for (const d of outstanding) allocator.recoverResources(d.frameworkId, d.agentId, d.resources, refuse(d.frameworkId), now, d.role);
    now += 1000;
    const t0 = performance.now();
    outstanding = allocator.allocate(now);
    const ms = performance.now() - t0;
    if (outstanding.length === 0) throw new Error('bench: an allocation cycle offered nothing; the scenario is broken');
    if (round >= WARMUP_ROUNDS) samples.push(ms);
  }
  return samples;
}

async function fullCycle(s: Scenario): Promise<BenchRow> {
  const roles = s.roles ?? ROLES;
  const { allocator, ids } = build(s.agents, s.frameworks, roles);
  const filtering = new Set(ids.filter((_, i) => i % FILTERING_SHARE === 0));
  const samples = measure(allocator, s.rounds, (id) => (filtering.has(id) ? REFUSE_SECONDS : undefined));
  const row = summarize('allocator: full cycle', `${k(s.agents)} agents / ${k(s.frameworks)} fw / ${roles} role${roles === 1 ? '' : 's'}`, samples, {
    baseline: s.baseline,
  });
  if (s.targetMs !== undefined) row.target = `≤ ${s.targetMs} ms p50: ${row.p50 <= s.targetMs ? 'met' : 'MISSED'}`;
  return row;
}

/** 10k/1k in one role, the first fifth of frameworks (by name, so first in DRF ties) filtered on every agent. */
async function filteredEverywhere(): Promise<BenchRow> {
  const agents = 10_000;
  const frameworks = 1_000;
  const { allocator, totals, ids } = build(agents, frameworks, 1);
  const filtered = ids.slice(0, frameworks / FILTERING_SHARE);
  for (const id of filtered) {
    for (let i = 0; i < agents; i++) {
      allocator.recordAllocation(id, `agent-${i}`, 'role-0', totals[i]);
      allocator.recoverResources(id, `agent-${i}`, totals[i], 3600, 0, 'role-0');
    }
  }
  const samples = measure(allocator, 10, () => undefined);
  const filters = `${allocator.filterCount() / 1e6}M filters`;
  return summarize('allocator: 20% fw filtered on every agent', `${k(agents)} agents / ${k(frameworks)} fw / 1 role / ${filters}`, samples);
}

export async function benchAllocator(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const s of SCENARIOS) rows.push(await fullCycle(s));
  rows.push(await filteredEverywhere());
  return rows;
}
