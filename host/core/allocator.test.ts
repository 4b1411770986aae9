import { describe, expect, test } from '@jest/globals';
import { Allocator, type OfferDecision } from './allocator.ts';
import { parseResources } from './resource-text.ts';
import { Resources } from './resources.ts';

const res = parseResources;
/** Identity shuffle: Fisher–Yates with j = i keeps the agents in insertion order. */
const inOrder = (): number => 0.999999;
const brief = (ds: OfferDecision[]): string[] => ds.map((d) => `${d.frameworkId}@${d.agentId}`);

function cluster(agents: Record<string, string>, frameworks: Record<string, string[]>, opts: ConstructorParameters<typeof Allocator>[0] = {}): Allocator {
  const a = new Allocator({ random: inOrder, ...opts });
  for (const [id, text] of Object.entries(agents)) a.addAgent(id, res(text));
  for (const [id, roles] of Object.entries(frameworks)) a.addFramework(id, roles);
  return a;
}

describe('offers', () => {
  test('an agent is offered whole, and offered resources count as allocated', () => {
    const a = cluster({ s1: 'cpus:4;mem:1024;ports:[31000-31005,31010-31020]' }, { f1: ['*'] });
    const [d, ...rest] = a.allocate(0);
    expect(rest).toEqual([]);
    expect(d.frameworkId).toBe('f1');
    expect(d.role).toBe('*');
    expect(d.resources.equals(res('cpus:4;mem:1024;ports:[31000-31005,31010-31020]'))).toBe(true);
    expect(a.agentAllocated('s1').equals(d.resources)).toBe(true);
    expect(a.agentAvailable('s1').isEmpty()).toBe(true);
    // Nothing is left to offer until something is recovered.
    expect(a.allocate(1)).toEqual([]);
    a.recoverResources('f1', 's1', res('cpus:1;ports:[31010-31020]'), undefined, 2);
    expect(a.allocate(3).map((x) => x.resources.toString())).toEqual(['cpus:1; ports:[31010-31020]']);
  });

  test('each agent goes to the lowest share at that moment (DRF), one agent at a time', () => {
    const a = cluster({ s1: 'cpus:10', s2: 'cpus:10', s3: 'cpus:10', s4: 'cpus:10' }, { f1: ['*'], f2: ['*'] });
    expect(a.recordAllocation('f1', 's1', '*', res('cpus:1'))).toBe(true);
    // shares: f1 = .025, f2 = 0 -> s1 (9 cpus) goes to f2
    // shares: f1 = .025, f2 = .225 -> s2 goes to f1
    // shares: f1 = .275, f2 = .225 -> s3 goes to f2
    // shares: f1 = .275, f2 = .475 -> s4 goes to f1
    expect(brief(a.allocate(0))).toEqual(['f2@s1', 'f1@s2', 'f2@s3', 'f1@s4']);
    expect(a.frameworkShare('f1')).toBeCloseTo(0.525, 12);
    expect(a.frameworkShare('f2')).toBeCloseTo(0.475, 12);
  });

  test('roles are served by weighted share before frameworks within them', () => {
    const a = cluster(
      { s1: 'cpus:10', s2: 'cpus:10', s3: 'cpus:10', s4: 'cpus:10', s5: 'cpus:10' },
      { p1: ['prod'], p2: ['prod'], d1: ['dev'] },
      { weights: { prod: 3 } },
    );
    // Totals: cpus 50. Existing use: prod 6 cpus (p1), dev 4 cpus.
    a.recordAllocation('p1', 's5', 'prod', res('cpus:6'));
    a.recordAllocation('d1', 's5', 'dev', res('cpus:4'));
    // role shares: prod = .12 / 3 = .04, dev = .08   -> prod; within prod: p2 = 0 < p1 = .12 -> s1 to p2
    // role shares: prod = .32 / 3 = .107, dev = .08  -> dev: s2 to d1
    // role shares: prod = .107, dev = .28            -> prod; p1 = .12 < p2 = .2 -> s3 to p1
    // role shares: prod = .52 / 3 = .173, dev = .28  -> prod; p2 = .2 < p1 = .32 -> s4 to p2
    expect(brief(a.allocate(0))).toEqual(['p2@s1', 'd1@s2', 'p1@s3', 'p2@s4']);
    expect(a.roleShare('prod')).toBeCloseTo(0.72 / 3, 12);
    expect(a.frameworkRoleShare('p2', 'prod')).toBeCloseTo(0.4, 12);

    // Weights can change at run time: with dev at 10, dev wins the next agent.
    a.setWeight('dev', 10);
    a.recoverResources('p2', 's4', res('cpus:10'), undefined, 1);
    expect(brief(a.allocate(1))).toEqual(['d1@s4']);
  });

  test('the shuffle decides the agent order, through the injected random source', () => {
    const agents = { a: 'cpus:1;mem:64', b: 'cpus:1;mem:64', c: 'cpus:1;mem:64' };
    expect(cluster(agents, { f: ['*'] }).allocate(0).map((d) => d.agentId)).toEqual(['a', 'b', 'c']);
    // random() = 0 always picks j = 0: [a,b,c] -> swap(2,0) [c,b,a] -> swap(1,0) [b,c,a]
    expect(cluster(agents, { f: ['*'] }, { random: () => 0 }).allocate(0).map((d) => d.agentId)).toEqual(['b', 'c', 'a']);
  });

  test('allocate(now, agentIds) looks only at those agents', () => {
    const a = cluster({ s1: 'cpus:1;mem:64', s2: 'cpus:1;mem:64' }, { f1: ['*'] });
    expect(brief(a.allocate(0, ['s2', 'unknown', 's2']))).toEqual(['f1@s2']);
    expect(brief(a.allocate(0))).toEqual(['f1@s1']);
  });

  test('below the minimum allocatable nothing is offered (cpus 0.01 or mem 32 by default)', () => {
    const a = cluster({ tiny: 'cpus:0.009;mem:31;disk:100', cpu: 'cpus:0.01', mem: 'mem:32' }, { f1: ['*'] });
    expect(a.allocate(0).map((d) => d.agentId).sort()).toEqual(['cpu', 'mem']);

    const strict = cluster({ s1: 'cpus:1;mem:64' }, { f1: ['*'] }, { minAllocatable: [res('cpus:1;mem:128')] });
    expect(strict.allocate(0)).toEqual([]);
    const any = cluster({ s1: 'disk:1' }, { f1: ['*'] }, { minAllocatable: [] });
    expect(brief(any.allocate(0))).toEqual(['f1@s1']);
  });
});

describe('filters', () => {
  test('a decline with refuse_seconds keeps the agent from that framework until it expires', () => {
    const a = cluster({ s1: 'cpus:4;mem:1024' }, { f1: ['*'] });
    const [d] = a.allocate(0);
    a.recoverResources('f1', 's1', d.resources, 5, 1000);
    expect(a.filterCount()).toBe(1);
    expect(a.isFiltered('f1', 's1', '*', 1000)).toBe(true);
    expect(a.allocate(2000)).toEqual([]);
    expect(a.allocate(5999)).toEqual([]);
    // Expired at 1000 + 5 s; dropped lazily when met.
    expect(brief(a.allocate(6000))).toEqual(['f1@s1']);
    expect(a.filterCount()).toBe(0);
  });

  test('a filtered framework is walked past: the next one in order gets the agent', () => {
    const a = cluster({ s1: 'cpus:4;mem:1024' }, { f1: ['*'], f2: ['*'] });
    expect(brief(a.allocate(0))).toEqual(['f1@s1']);
    a.recoverResources('f1', 's1', res('cpus:4;mem:1024'), 10, 0);
    // shares: f1 = 0, f2 = 0; f1 first by name but filtered
    expect(brief(a.allocate(1))).toEqual(['f2@s1']);
  });

  test('the filter holds only while the offer would be contained in what was refused', () => {
    const a = cluster({ s1: 'cpus:4;mem:1024' }, { busy: ['*'], f1: ['*'] });
    a.deactivateFramework('busy');
    expect(a.recordAllocation('busy', 's1', '*', res('cpus:2;mem:512'))).toBe(true);
    const [d] = a.allocate(0);
    expect(d.resources.toString()).toBe('cpus:2; mem:512');
    a.recoverResources('f1', 's1', d.resources, 60, 0);
    expect(a.allocate(1)).toEqual([]);
    // busy's task finishes: now cpus:4;mem:1024 is free, more than f1 refused, so f1 sees it.
    a.recoverResources('busy', 's1', res('cpus:2;mem:512'), undefined, 2);
    expect(brief(a.allocate(3))).toEqual(['f1@s1']);
  });

  test('filters are per role, and per agent', () => {
    const a = cluster({ s1: 'cpus:1;mem:64', s2: 'cpus:1;mem:64' }, { f1: ['web', 'batch'] });
    a.suppress('f1', ['batch']);
    const ds = a.allocate(0);
    expect(ds.map((d) => d.role)).toEqual(['web', 'web']);
    a.recoverResources('f1', 's1', ds[0].resources, 30, 0, 'web');
    a.recoverResources('f1', 's2', ds[1].resources, undefined, 0);
    // s1 is filtered for f1 as 'web' only; s2 was returned without a filter.
    expect(brief(a.allocate(1))).toEqual(['f1@s2']);
    a.revive('f1', ['batch']);
    expect(a.allocate(2).map((d) => `${d.role}@${d.agentId}`)).toEqual(['batch@s1']);
  });

  test('revive clears filters and unsuppresses; deactivation clears filters too', () => {
    const a = cluster({ s1: 'cpus:1;mem:64' }, { f1: ['*'] });
    a.recoverResources('f1', 's1', a.allocate(0)[0].resources, 100, 0);
    a.suppress('f1');
    expect(a.allocate(1)).toEqual([]);
    a.revive('f1');
    expect(a.filterCount()).toBe(0);
    const [d] = a.allocate(2);
    expect(d.frameworkId).toBe('f1');
    a.recoverResources('f1', 's1', d.resources, 100, 3);
    a.deactivateFramework('f1');
    expect(a.filterCount()).toBe(0);
    a.activateFramework('f1');
    expect(brief(a.allocate(4))).toEqual(['f1@s1']);
  });

  test('refuse_seconds of zero or none installs no filter; expireFilters drops old ones eagerly', () => {
    const a = cluster({ s1: 'cpus:1;mem:64', s2: 'cpus:1;mem:64' }, { f1: ['*'] });
    const [d1, d2] = a.allocate(0);
    a.recoverResources('f1', d1.agentId, d1.resources, 0, 0);
    a.recoverResources('f1', d2.agentId, d2.resources, 2, 0);
    expect(a.filterCount()).toBe(1);
    a.expireFilters(1999);
    expect(a.filterCount()).toBe(1);
    a.expireFilters(2000);
    expect(a.filterCount()).toBe(0);
  });
});

describe('agents and frameworks coming and going', () => {
  test('deactivated agents and frameworks are not offered', () => {
    const a = cluster({ s1: 'cpus:1;mem:64' }, { f1: ['*'] });
    a.deactivateAgent('s1');
    expect(a.allocate(0)).toEqual([]);
    a.activateAgent('s1');
    a.deactivateFramework('f1');
    expect(a.allocate(0)).toEqual([]);
    a.addFramework('f2', ['*']);
    a.addAgent('s2', res('cpus:1;mem:64'), { active: false });
    expect(brief(a.allocate(0))).toEqual(['f2@s1']);
    expect(a.isAgentActive('s2')).toBe(false);
  });

  test('suppressed frameworks are skipped; the others get the agent', () => {
    const a = cluster({ s1: 'cpus:1;mem:64' }, { f1: ['*'], f2: ['*'] });
    a.suppress('f1');
    expect(brief(a.allocate(0))).toEqual(['f2@s1']);
    expect(a.frameworkRoles('f1')).toEqual([{ role: '*', suppressed: true }]);
    const b = cluster({ s1: 'cpus:1;mem:64' }, {});
    b.addFramework('f1', ['*'], { suppressedRoles: ['*'] });
    expect(b.allocate(0)).toEqual([]);
  });

  test('recordAllocation accepts what fits and refuses what would over-commit', () => {
    const a = cluster({ s1: 'cpus:4;mem:1024;ports:[1-10]' }, { f1: ['*'] });
    expect(a.recordAllocation('f1', 's1', '*', res('cpus:3;mem:512;ports:[2-3]'))).toBe(true);
    expect(a.recordAllocation('f1', 's1', '*', res('cpus:2'))).toBe(false);
    expect(a.recordAllocation('f1', 's1', '*', res('ports:[3-4]'))).toBe(false);
    expect(a.agentAllocated('s1').toString()).toBe('cpus:3; mem:512; ports:[2-3]');
    expect(a.agentAvailable('s1').toString()).toBe('cpus:1; mem:512; ports:[1-1, 4-10]');
    expect(() => a.recordAllocation('nobody', 's1', '*', res('cpus:1'))).toThrow(/unknown framework/);
    expect(() => a.recordAllocation('f1', 'nowhere', '*', res('cpus:1'))).toThrow(/unknown agent/);
  });

  test('an allocation in a role the framework does not subscribe to counts, but is never offered', () => {
    const a = cluster({ s1: 'cpus:10;mem:100', s2: 'cpus:10;mem:100' }, { f1: ['web'], f2: ['web'] });
    // A task restored from before a role change.
    expect(a.recordAllocation('f1', 's1', 'old', res('cpus:5'))).toBe(true);
    expect(a.roleShare('old')).toBeCloseTo(0.25, 12);
    expect(a.frameworkShare('f1')).toBeCloseTo(0.25, 12);
    const ds = a.allocate(0);
    expect(ds.every((d) => d.role === 'web')).toBe(true);
    // f1 may now hold cpus on s1 both as 'old' and as 'web': the role must be named.
    // shares in 'web': f1 = 0, f2 = 0 -> s1 (in order first) to f1 by name.
    expect(ds.find((d) => d.frameworkId === 'f1' && d.agentId === 's1')).toBeDefined();
    expect(() => a.recoverResources('f1', 's1', res('cpus:5'), undefined, 0)).toThrow(/name the role/);
    // When the task ends, the role is forgotten.
    a.recoverResources('f1', 's1', res('cpus:5'), undefined, 0, 'old');
    expect(a.roleShare('old')).toBe(0);
    expect(a.frameworkAllocatedOn('f1', 's1').has('old')).toBe(false);
  });

  test('recovering what is not held is a bug and throws; unknown ids are ignored', () => {
    const a = cluster({ s1: 'cpus:1;mem:64' }, { f1: ['*'] });
    expect(() => a.recoverResources('f1', 's1', res('cpus:1'), undefined, 0)).toThrow(/does not hold/);
    a.allocate(0);
    a.recoverResources('gone', 's1', res('cpus:1'), undefined, 0);
    a.recoverResources('f1', 'gone', res('cpus:1'), undefined, 0);
    expect(a.agentAllocated('s1').toString()).toBe('cpus:1; mem:64');
  });

  test('removeFramework releases what it still holds; removeAgent takes its resources out of every share', () => {
    const a = cluster({ s1: 'cpus:10;mem:100', s2: 'cpus:30;mem:300' }, { f1: ['*'], f2: ['*'] });
    a.allocate(0); // f1@s1, f2@s2
    // shares: f1 = .25, f2 = .75
    expect(a.frameworkShare('f2')).toBeCloseTo(0.75, 12);
    a.recoverResources('f1', 's1', res('cpus:10;mem:100'), 100, 0);
    a.removeFramework('f1');
    expect(a.hasFramework('f1')).toBe(false);
    expect(a.filterCount()).toBe(0);
    expect(a.agentAvailable('s1').toString()).toBe('cpus:10; mem:100');

    a.removeAgent('s2');
    // Pool is s1 only now; f2 holds nothing.
    expect(a.total().toString()).toBe('cpus:10; mem:100');
    expect(a.frameworkShare('f2')).toBe(0);
    expect(a.frameworkAllocated('f2').isEmpty()).toBe(true);
    expect(brief(a.allocate(1))).toEqual(['f2@s1']);
    expect(a.allocatedTotal().toString()).toBe('cpus:10; mem:100');

    // A framework removed while still holding offers: the agent gets them back.
    a.removeFramework('f2');
    expect(a.agentAllocated('s1').isEmpty()).toBe(true);
  });

  test('updateFramework changes roles; updateAgentTotal refuses to shrink below what is allocated', () => {
    const a = cluster({ s1: 'cpus:4;mem:128' }, { f1: ['a'] });
    a.updateFramework('f1', ['b']);
    expect(a.allocate(0).map((d) => d.role)).toEqual(['b']);
    expect(a.updateAgentTotal('s1', res('cpus:2;mem:128'))).toBe(false);
    expect(a.updateAgentTotal('s1', res('cpus:8;mem:256'))).toBe(true);
    expect(a.agentAvailable('s1').toString()).toBe('cpus:4; mem:128');
    expect(a.total().toString()).toBe('cpus:8; mem:256');
  });

  test('a role left behind is forgotten with its filters once its resources come back', () => {
    const a = cluster({ s1: 'cpus:1;mem:64' }, { f1: ['a', 'b'] });
    a.suppress('f1', ['a']);
    expect(a.allocate(0).map((d) => d.role)).toEqual(['b']);
    a.updateFramework('f1', ['a']);
    expect(a.frameworkRoles('f1')).toEqual([{ role: 'a', suppressed: true }]);
    // Still held in 'b' until recovered; a decline filter for a role no longer subscribed is moot.
    expect(a.roleShare('b')).toBe(1);
    a.recoverResources('f1', 's1', res('cpus:1;mem:64'), 30, 0);
    expect(a.roleShare('b')).toBe(0);
    expect(a.filterCount()).toBe(0);
    a.revive('f1');
    expect(a.allocate(1).map((d) => d.role)).toEqual(['a']);
  });

  test('adding an agent or a framework twice is an error (it would lose allocations)', () => {
    const a = cluster({ s1: 'cpus:1' }, { f1: ['*'] });
    expect(() => a.addAgent('s1', Resources.empty())).toThrow(/already added/);
    expect(() => a.addFramework('f1', ['*'])).toThrow(/already added/);
    expect(() => a.setWeight('r', -1)).toThrow(/positive/);
  });
});
