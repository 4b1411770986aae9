// Property tests for the allocator: random sequences of agents and frameworks coming, going and
// toggling, allocations, recoveries with and without filters, suppress and revive, weights and
// restored tasks. A plain model (what each framework-role holds where, and the live filters) is
// kept beside the allocator, and after every step we check:
//   1. no agent is ever over-committed: what is held there is contained in its total;
//   2. a resource is in at most one outstanding offer: each decision offers exactly what was free
//      on its agent (so it is disjoint from everything held), and no agent is offered twice;
//   3. the lowest dominant share is served first: each decision goes to an eligible framework
//      whose role has the lowest weighted share among roles with an eligible framework, and which
//      has the lowest share within that role, at that moment (shares replayed decision by decision);
//   4. nothing eligible is left idle: an active agent with allocatable resources that got no offer
//      has no eligible framework.
import { test } from '@jest/globals';
import fc from 'fast-check';
import { Allocator, type OfferDecision } from './allocator.ts';
import { parseResources } from './resource-text.ts';
import { Resources } from './resources.ts';

const ROLES = ['r1', 'r2'] as const;
const AGENT_SHAPES = [
  'cpus:4;mem:1024;disk:100;ports:[1000-1010,1020-1030,1040-1040]',
  'cpus:1;mem:256;ports:[2000-2005]',
  'cpus:0.5;mem:16',
  'mem:20;disk:5', // below the minimum allocatable
].map(parseResources);
/** Pieces a restored task might use; some do not fit some agents. */
const TASK_SHAPES = ['cpus:1;mem:128', 'cpus:0.25;ports:[1000-1002]', 'mem:300', 'ports:[2003-2004];cpus:0.1'].map(parseResources);
const EPS = 1e-9;

type Op =
  | { op: 'addAgent'; shape: number; active: boolean }
  | { op: 'removeAgent'; pick: number }
  | { op: 'toggleAgent'; pick: number }
  | { op: 'addFramework'; roles: string[]; active: boolean }
  | { op: 'removeFramework'; pick: number }
  | { op: 'toggleFramework'; pick: number }
  | { op: 'allocate'; dt: number; only?: number[] }
  | { op: 'recover'; pick: number; part: 0 | 1 | 2; refuse: number }
  | { op: 'record'; fw: number; agent: number; task: number; role: number }
  | { op: 'suppress'; pick: number; role: number | null }
  | { op: 'revive'; pick: number; role: number | null }
  | { op: 'weight'; role: number; weight: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('addAgent' as const), shape: fc.nat(AGENT_SHAPES.length - 1), active: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeAgent' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('toggleAgent' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('addFramework' as const), roles: fc.subarray([...ROLES], { minLength: 1 }), active: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeFramework' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('toggleFramework' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('allocate' as const), dt: fc.integer({ min: 0, max: 4000 }) }) },
  // A cycle over some agents only (as when resources free up on them), including inactive or removed ones.
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('allocate' as const), dt: fc.integer({ min: 0, max: 2000 }), only: fc.array(fc.nat(12), { maxLength: 4 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('recover' as const), pick: fc.nat(), part: fc.constantFrom(0 as const, 1 as const, 2 as const), refuse: fc.constantFrom(0, 0, 1, 5) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('record' as const), fw: fc.nat(), agent: fc.nat(), task: fc.nat(TASK_SHAPES.length - 1), role: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('suppress' as const), pick: fc.nat(), role: fc.option(fc.nat(1)) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revive' as const), pick: fc.nat(), role: fc.option(fc.nat(1)) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('weight' as const), role: fc.nat(1), weight: fc.constantFrom(0.5, 1, 2, 4) }) },
);

interface ModelAgent {
  total: Resources;
  active: boolean;
}
interface ModelFramework {
  roles: string[];
  active: boolean;
  suppressed: Set<string>;
}
interface Holding {
  fw: string;
  role: string;
  agent: string;
  res: Resources;
}
interface Filter {
  fw: string;
  role: string;
  agent: string;
  refused: Resources;
  expiresAt: number;
}

class Model {
  agents = new Map<string, ModelAgent>();
  frameworks = new Map<string, ModelFramework>();
  holdings: Holding[] = [];
  filters: Filter[] = [];
  weights = new Map<string, number>();

  held(agent: string): Resources {
    return this.holdings.filter((h) => h.agent === agent).reduce((s, h) => s.add(h.res), Resources.empty());
  }

  available(agent: string): Resources {
    return this.agents.get(agent)!.total.subtract(this.held(agent));
  }

  total(): Resources {
    let t = Resources.empty();
    for (const a of this.agents.values()) t = t.add(a.total.scalars());
    return t;
  }

  /** Dominant share of `r` against the pool, as the sorters compute it. */
  share(r: Resources, total: Resources): number {
    let s = 0;
    for (const name of r.scalarNames()) {
      const t = total.scalarMilli(name);
      if (t > 0) s = Math.max(s, r.scalarMilli(name) / t);
    }
    return s;
  }

  roleShare(role: string, total: Resources): number {
    const sum = this.holdings.filter((h) => h.role === role).reduce((s, h) => s.add(h.res.scalars()), Resources.empty());
    return this.share(sum, total) / (this.weights.get(role) ?? 1);
  }

  frameworkShare(fw: string, role: string, total: Resources): number {
    const sum = this.holdings.filter((h) => h.fw === fw && h.role === role).reduce((s, h) => s.add(h.res.scalars()), Resources.empty());
    return this.share(sum, total);
  }

  filtered(fw: string, role: string, agent: string, offer: Resources, now: number): boolean {
    return this.filters.some((f) => f.fw === fw && f.role === role && f.agent === agent && f.expiresAt > now && f.refused.contains(offer));
  }

  /** (framework, role) pairs that may be offered `offer` on `agent` at `now`. */
  eligible(agent: string, offer: Resources, now: number): Array<{ fw: string; role: string }> {
    const out: Array<{ fw: string; role: string }> = [];
    for (const [id, f] of this.frameworks) {
      if (!f.active) continue;
      for (const role of f.roles) {
        if (!f.suppressed.has(role) && !this.filtered(id, role, agent, offer, now)) out.push({ fw: id, role });
      }
    }
    return out;
  }
}

const allocatable = (r: Resources): boolean => r.scalarMilli('cpus') >= 10 || r.scalarMilli('mem') >= 32000;

/** A small deterministic generator, so a failing case replays exactly. */
function lcg(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** Plain checks: they run thousands of times per property, where jest's expect is too slow. */
function check(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

function checkDecisions(model: Model, decisions: OfferDecision[], now: number, only?: string[]): void {
  const offered = new Set<string>();
  for (const d of decisions) {
    const where = (): string => `${d.frameworkId} as ${d.role} on ${d.agentId} at ${now}`;
    // (2) each agent once per cycle, and exactly its free resources: disjoint from all holdings.
    check(!offered.has(d.agentId), () => `agent offered twice: ${where()}`);
    offered.add(d.agentId);
    const free = model.available(d.agentId);
    check(d.resources.equals(free), () => `offered ${d.resources}, but free was ${free}: ${where()}`);
    check(model.agents.get(d.agentId)!.active, () => `inactive agent offered: ${where()}`);
    check(only === undefined || only.includes(d.agentId), () => `agent not asked for: ${where()}`);
    check(allocatable(d.resources), () => `below min allocatable: ${d.resources}: ${where()}`);

    // (3) the lowest share first, hierarchically: role, then framework within the role.
    const total = model.total();
    const eligible = model.eligible(d.agentId, d.resources, now);
    check(eligible.some((e) => e.fw === d.frameworkId && e.role === d.role), () => `not eligible: ${where()}`);
    const minRole = Math.min(...eligible.map((e) => model.roleShare(e.role, total)));
    check(model.roleShare(d.role, total) <= minRole + EPS, () => `role share ${model.roleShare(d.role, total)} > min ${minRole}: ${where()}`);
    const inRole = eligible.filter((e) => e.role === d.role);
    const minFw = Math.min(...inRole.map((e) => model.frameworkShare(e.fw, e.role, total)));
    const share = model.frameworkShare(d.frameworkId, d.role, total);
    check(share <= minFw + EPS, () => `framework share ${share} > min ${minFw} in role: ${where()}`);

    model.holdings.push({ fw: d.frameworkId, role: d.role, agent: d.agentId, res: d.resources });
  }
  // (4) agents left out had nothing allocatable, or no one to give it to.
  for (const [id, agent] of model.agents) {
    if (offered.has(id) || !agent.active || (only !== undefined && !only.includes(id))) continue;
    const free = model.available(id);
    if (allocatable(free)) {
      const idle = model.eligible(id, free, now);
      check(idle.length === 0, () => `agent ${id} with ${free} left idle at ${now}, eligible: ${JSON.stringify(idle)}`);
    }
  }
}

function checkState(model: Model, a: Allocator): void {
  for (const [id, agent] of model.agents) {
    const held = model.held(id);
    // (1) never over-committed, and the allocator's books agree with the model's.
    check(agent.total.contains(held), () => `agent ${id} over-committed: holds ${held} of ${agent.total}`);
    check(a.agentAllocated(id).equals(held), () => `agent ${id}: allocator says ${a.agentAllocated(id)} allocated, model ${held}`);
    check(a.agentAvailable(id).equals(agent.total.subtract(held)), () => `agent ${id}: available ${a.agentAvailable(id)} is not total - allocated`);
  }
  const total = model.total();
  for (const id of model.frameworks.keys()) {
    const sum = model.holdings.filter((h) => h.fw === id).reduce((s, h) => s.add(h.res.scalars()), Resources.empty());
    check(Math.abs(a.frameworkShare(id) - model.share(sum, total)) < EPS, () => `framework ${id}: share ${a.frameworkShare(id)}, model ${model.share(sum, total)}`);
  }
  check(a.total().equals(total), () => `total ${a.total()}, model ${total}`);
}

function run(ops: Op[], seed: number): void {
  const a = new Allocator({ random: lcg(seed) });
  const model = new Model();
  let now = 0;
  let nextAgent = 0;
  let nextFramework = 0;
  const pick = <T>(list: T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);

  for (const o of ops) {
    switch (o.op) {
      case 'addAgent': {
        const id = `s${nextAgent++}`;
        a.addAgent(id, AGENT_SHAPES[o.shape], { active: o.active });
        model.agents.set(id, { total: AGENT_SHAPES[o.shape], active: o.active });
        break;
      }
      case 'removeAgent': {
        const id = pick([...model.agents.keys()], o.pick);
        if (id === undefined) break;
        a.removeAgent(id);
        model.agents.delete(id);
        model.holdings = model.holdings.filter((h) => h.agent !== id);
        model.filters = model.filters.filter((f) => f.agent !== id);
        break;
      }
      case 'toggleAgent': {
        const id = pick([...model.agents.keys()], o.pick);
        if (id === undefined) break;
        const agent = model.agents.get(id)!;
        agent.active = !agent.active;
        if (agent.active) a.activateAgent(id);
        else a.deactivateAgent(id);
        break;
      }
      case 'addFramework': {
        const id = `f${nextFramework++}`;
        a.addFramework(id, o.roles, { active: o.active });
        model.frameworks.set(id, { roles: o.roles, active: o.active, suppressed: new Set() });
        break;
      }
      case 'removeFramework': {
        const id = pick([...model.frameworks.keys()], o.pick);
        if (id === undefined) break;
        a.removeFramework(id);
        model.frameworks.delete(id);
        model.holdings = model.holdings.filter((h) => h.fw !== id);
        model.filters = model.filters.filter((f) => f.fw !== id);
        break;
      }
      case 'toggleFramework': {
        const id = pick([...model.frameworks.keys()], o.pick);
        if (id === undefined) break;
        const fw = model.frameworks.get(id)!;
        fw.active = !fw.active;
        if (fw.active) a.activateFramework(id);
        else {
          a.deactivateFramework(id);
          model.filters = model.filters.filter((f) => f.fw !== id);
        }
        break;
      }
      case 'allocate': {
        now += o.dt;
        const only = o.only?.map((i) => `s${i}`);
        checkDecisions(model, a.allocate(now, only), now, only);
        break;
      }
      case 'recover': {
        const h = pick(model.holdings, o.pick);
        if (h === undefined) break;
        // The whole holding, its scalars only (a task's ports freed later), or the rest.
        const part = o.part === 0 ? h.res : o.part === 1 ? h.res.scalars() : h.res.subtract(h.res.scalars());
        if (part.isEmpty()) break;
        a.recoverResources(h.fw, h.agent, part, o.refuse, now, h.role);
        const rest = h.res.subtract(part);
        model.holdings = model.holdings.filter((x) => x !== h);
        if (!rest.isEmpty()) model.holdings.push({ ...h, res: rest });
        if (o.refuse > 0) model.filters.push({ fw: h.fw, role: h.role, agent: h.agent, refused: part, expiresAt: now + o.refuse * 1000 });
        break;
      }
      case 'record': {
        const fw = pick([...model.frameworks.keys()], o.fw);
        const agent = pick([...model.agents.keys()], o.agent);
        if (fw === undefined || agent === undefined) break;
        const roles = model.frameworks.get(fw)!.roles;
        const role = roles[o.role % roles.length];
        const task = TASK_SHAPES[o.task];
        const fits = model.available(agent).contains(task);
        check(a.recordAllocation(fw, agent, role, task) === fits, () => `recordAllocation of ${task} on ${agent} should be ${fits}`);
        if (fits) model.holdings.push({ fw, role, agent, res: task });
        break;
      }
      case 'suppress':
      case 'revive': {
        const id = pick([...model.frameworks.keys()], o.pick);
        if (id === undefined) break;
        const fw = model.frameworks.get(id)!;
        const roles = o.role === null ? fw.roles : fw.roles.filter((r) => r === ROLES[o.role!]);
        if (o.op === 'suppress') {
          a.suppress(id, o.role === null ? undefined : roles);
          for (const r of roles) fw.suppressed.add(r);
        } else {
          a.revive(id, o.role === null ? undefined : roles);
          for (const r of roles) fw.suppressed.delete(r);
          model.filters = model.filters.filter((f) => !(f.fw === id && roles.includes(f.role)));
        }
        break;
      }
      case 'weight': {
        a.setWeight(ROLES[o.role], o.weight);
        model.weights.set(ROLES[o.role], o.weight);
        break;
      }
    }
    checkState(model, a);
  }
}

/** A few agents and frameworks first, so that most sequences have something to allocate. */
const setupArb: fc.Arbitrary<Op[]> = fc.tuple(
  fc.array(fc.record({ op: fc.constant('addAgent' as const), shape: fc.nat(AGENT_SHAPES.length - 1), active: fc.constant(true) }), { minLength: 1, maxLength: 6 }),
  fc.array(fc.record({ op: fc.constant('addFramework' as const), roles: fc.subarray([...ROLES], { minLength: 1 }), active: fc.constant(true) }), { minLength: 1, maxLength: 4 }),
).map(([agents, frameworks]) => [...agents, ...frameworks]);

test('allocator invariants hold for random operation sequences', () => {
  fc.assert(
    fc.property(setupArb, fc.array(opArb, { minLength: 1, maxLength: 80 }), fc.integer(), (setup, ops, seed) => run([...setup, ...ops], seed)),
    { numRuns: 1000, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: false },
  );
});

test('invariants hold in a busy cluster with many declines (longer runs)', () => {
  const busy = fc.array(
    fc.oneof(
      { weight: 1, arbitrary: opArb },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('allocate' as const), dt: fc.integer({ min: 0, max: 1500 }) }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('recover' as const), pick: fc.nat(), part: fc.constant(0 as const), refuse: fc.constantFrom(0, 1, 3) }) },
    ),
    { minLength: 50, maxLength: 150 },
  );
  const setup: Op[] = [
    ...AGENT_SHAPES.flatMap((_, shape) => [{ op: 'addAgent' as const, shape, active: true }, { op: 'addAgent' as const, shape: 0, active: true }]),
    { op: 'addFramework', roles: ['r1'], active: true },
    { op: 'addFramework', roles: ['r1', 'r2'], active: true },
    { op: 'addFramework', roles: ['r2'], active: true },
  ];
  fc.assert(
    fc.property(busy, fc.integer(), (ops, seed) => run([...setup, ...ops], seed)),
    { numRuns: 300, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: false },
  );
});
