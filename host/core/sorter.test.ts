import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DRFSorter } from './sorter.ts';
import { Resources } from './resources.ts';
import { parseResources } from './resource-text.ts';

const res = parseResources;

describe('DRFSorter', () => {
  test('orders by dominant share, updating after each allocation', () => {
    const sorter = new DRFSorter();
    sorter.add(res('cpus:100;mem:100'));
    sorter.addClient('a');
    sorter.addClient('b');
    // shares: a = 0, b = 0 (tie: by name)
    expect(sorter.sort()).toEqual(['a', 'b']);

    sorter.allocated('a', res('cpus:5;mem:5'));
    // shares: a = .05, b = 0
    expect(sorter.sort()).toEqual(['b', 'a']);

    sorter.allocated('b', res('cpus:6;mem:6'));
    // shares: a = .05, b = .06
    expect(sorter.sort()).toEqual(['a', 'b']);

    sorter.addClient('c');
    // shares: c = 0, a = .05, b = .06
    expect(sorter.sort()).toEqual(['c', 'a', 'b']);

    sorter.allocated('c', res('cpus:1;mem:10'));
    // shares: a = .05, b = .06, c = .10 (mem dominates)
    expect(sorter.sort()).toEqual(['a', 'b', 'c']);
    expect(sorter.share('c')).toBeCloseTo(0.1, 12);

    sorter.unallocated('b', res('cpus:6;mem:6'));
    // shares: b = 0, a = .05, c = .10
    expect(sorter.sort()).toEqual(['b', 'a', 'c']);
  });

  test('the dominant resource is the one with the largest fraction of the pool', () => {
    const sorter = new DRFSorter();
    sorter.add(res('cpus:10;mem:1000'));
    sorter.addClient('cpu-heavy');
    sorter.addClient('mem-heavy');
    sorter.allocated('cpu-heavy', res('cpus:3;mem:100'));
    sorter.allocated('mem-heavy', res('cpus:1;mem:400'));
    // shares: cpu-heavy = max(3/10, 100/1000) = .3, mem-heavy = max(1/10, 400/1000) = .4
    expect(sorter.share('cpu-heavy')).toBeCloseTo(0.3, 12);
    expect(sorter.share('mem-heavy')).toBeCloseTo(0.4, 12);
    expect(sorter.sort()).toEqual(['cpu-heavy', 'mem-heavy']);
  });

  test('weights divide shares', () => {
    const sorter = new DRFSorter();
    sorter.add(res('cpus:100;mem:100'));
    sorter.addClient('light');
    sorter.addClient('heavy', { weight: 2 });
    sorter.allocated('light', res('cpus:10'));
    sorter.allocated('heavy', res('cpus:16'));
    // shares: heavy = .16 / 2 = .08, light = .10
    expect(sorter.sort()).toEqual(['heavy', 'light']);
    expect(sorter.share('heavy')).toBeCloseTo(0.08, 12);

    sorter.updateWeight('heavy', 1);
    // shares: light = .10, heavy = .16
    expect(sorter.sort()).toEqual(['light', 'heavy']);
    expect(() => sorter.updateWeight('heavy', 0)).toThrow(/positive/);
  });

  test('ranges and sets do not count in shares', () => {
    const sorter = new DRFSorter();
    sorter.add(res('cpus:10;ports:[1-100]'));
    sorter.addClient('a');
    sorter.addClient('b');
    sorter.allocated('a', res('ports:[1-100];zones:{x}'));
    sorter.allocated('b', res('cpus:1'));
    // shares: a = 0 (ports are not scalars), b = .1
    expect(sorter.share('a')).toBe(0);
    expect(sorter.sort()).toEqual(['a', 'b']);
  });

  test('a scalar with no total in the pool is skipped', () => {
    const sorter = new DRFSorter();
    sorter.add(res('cpus:10'));
    sorter.addClient('a');
    sorter.allocated('a', res('cpus:1;gpus:1'));
    // shares: a = max(1/10, gpus has no total) = .1
    expect(sorter.share('a')).toBeCloseTo(0.1, 12);
  });

  test('a change of the pool re-sorts everyone', () => {
    const sorter = new DRFSorter();
    sorter.add(res('cpus:10;mem:100'));
    sorter.addClient('a');
    sorter.addClient('b');
    sorter.allocated('a', res('cpus:2'));
    sorter.allocated('b', res('mem:30'));
    // shares: a = .2, b = .3
    expect(sorter.sort()).toEqual(['a', 'b']);
    sorter.add(res('mem:900'));
    // pool mem = 1000. shares: b = .03, a = .2
    expect(sorter.sort()).toEqual(['b', 'a']);
    sorter.remove(res('cpus:8'));
    // pool cpus = 2. shares: b = .03, a = 1
    expect(sorter.share('a')).toBe(1);
    expect(sorter.sort()).toEqual(['b', 'a']);
  });

  test('inactive clients keep their allocation but are not sorted', () => {
    const sorter = new DRFSorter();
    sorter.add(res('cpus:10'));
    sorter.addClient('a');
    sorter.addClient('b', { active: false });
    sorter.addClient('c');
    expect(sorter.sort()).toEqual(['a', 'c']);
    sorter.allocated('b', res('cpus:5'));
    sorter.deactivate('a');
    expect(sorter.sort()).toEqual(['c']);
    sorter.activate('b');
    sorter.activate('a');
    // shares: a = 0, c = 0, b = .5
    expect(sorter.sort()).toEqual(['a', 'c', 'b']);
    expect(sorter.isActive('b')).toBe(true);
    sorter.removeClient('c');
    expect(sorter.sort()).toEqual(['a', 'b']);
    expect(sorter.has('c')).toBe(false);
    expect(() => sorter.addClient('a')).toThrow(/already exists/);
    expect(() => sorter.share('c')).toThrow(/unknown client/);
  });

  // The order is maintained incrementally; it must always equal a full sort by (share, name).
  test('incremental order equals a full sort, for random operation sequences', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), who: fc.constantFrom(...names), cpus: fc.integer({ min: 1, max: 40 }), mem: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('free' as const), who: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('toggle' as const), who: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('weight' as const), who: fc.constantFrom(...names), weight: fc.constantFrom(0.5, 1, 2, 3) }),
      fc.record({ kind: fc.constant('pool' as const), cpus: fc.integer({ min: 1, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const sorter = new DRFSorter();
        const pool = { cpus: 100, mem: 100 };
        sorter.add(res('cpus:100;mem:100'));
        const model = new Map(names.map((n) => [n, { cpus: 0, mem: 0, weight: 1, active: true }]));
        for (const n of names) sorter.addClient(n);
        for (const o of ops) {
          if (o.kind === 'alloc') {
            sorter.allocated(o.who, Resources.fromParts({ scalars: { cpus: o.cpus, mem: o.mem } }));
            model.get(o.who)!.cpus += o.cpus;
            model.get(o.who)!.mem += o.mem;
          } else if (o.kind === 'free') {
            const m = model.get(o.who)!;
            sorter.unallocated(o.who, Resources.fromParts({ scalars: { cpus: m.cpus, mem: m.mem } }));
            m.cpus = 0;
            m.mem = 0;
          } else if (o.kind === 'toggle') {
            const m = model.get(o.who)!;
            m.active = !m.active;
            if (m.active) sorter.activate(o.who);
            else sorter.deactivate(o.who);
          } else if (o.kind === 'weight') {
            sorter.updateWeight(o.who, o.weight);
            model.get(o.who)!.weight = o.weight;
          } else {
            sorter.add(Resources.fromParts({ scalars: { cpus: o.cpus } }));
            pool.cpus += o.cpus;
          }
          const share = (n: string): number => {
            const m = model.get(n)!;
            return Math.max(m.cpus / pool.cpus, m.mem / pool.mem) / m.weight;
          };
          const expected = names
            .filter((n) => model.get(n)!.active)
            .sort((x, y) => share(x) - share(y) || (x < y ? -1 : 1));
          expect([...sorter.sort()]).toEqual(expected);
          for (const n of names) expect(sorter.share(n)).toBeCloseTo(share(n), 12);
        }
      }),
    );
  });
});
