import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { Resources, ResourceError } from './resources.ts';

const R = (parts: Parameters<typeof Resources.fromParts>[0]): Resources => Resources.fromParts(parts);
const ports = (...list: Array<[number, number]>): Resources => R({ ranges: { ports: list.map(([begin, end]) => ({ begin, end })) } });

describe('scalars', () => {
  test('keep three decimals exactly: 0.1 + 0.2 is 0.3, and a thousand 0.001s are 1', () => {
    const sum = R({ scalars: { cpus: 0.1 } }).add(R({ scalars: { cpus: 0.2 } }));
    expect(sum.scalar('cpus')).toBe(0.3);
    expect(sum.equals(R({ scalars: { cpus: 0.3 } }))).toBe(true);
    let r = Resources.empty();
    for (let i = 0; i < 1000; i++) r = r.add(R({ scalars: { cpus: 0.001 } }));
    expect(r.scalar('cpus')).toBe(1);
    // Beyond three decimals is rounded away, as Mesos' fixed-point scalars do.
    expect(R({ scalars: { mem: 1.0004 } }).scalar('mem')).toBe(1);
    expect(R({ scalars: { mem: 0.0004 } }).isEmpty()).toBe(true);
  });

  test('add, subtract and absent names', () => {
    const a = R({ scalars: { cpus: 4, mem: 1024 } });
    const b = R({ scalars: { cpus: 1.5, disk: 10 } });
    const sum = a.add(b);
    expect(sum.scalar('cpus')).toBe(5.5);
    expect(sum.scalar('mem')).toBe(1024);
    expect(sum.scalar('disk')).toBe(10);
    expect(sum.scalar('gpus')).toBe(0);
    expect(sum.subtract(b).equals(a)).toBe(true);
    expect(sum.scalarNames()).toEqual(['cpus', 'disk', 'mem']);
  });

  test('subtract never yields negatives: what is not there is simply absent', () => {
    const r = R({ scalars: { cpus: 1, mem: 10 } }).subtract(R({ scalars: { cpus: 2, mem: 4 } }));
    expect(r.scalar('cpus')).toBe(0);
    expect(r.scalarNames()).toEqual(['mem']);
    expect(r.scalar('mem')).toBe(6);
  });

  test('contains compares every scalar; a missing name is zero', () => {
    const a = R({ scalars: { cpus: 2, mem: 512 } });
    expect(a.contains(R({ scalars: { cpus: 2 } }))).toBe(true);
    expect(a.contains(R({ scalars: { cpus: 2.001 } }))).toBe(false);
    expect(a.contains(R({ scalars: { disk: 1 } }))).toBe(false);
    expect(a.contains(Resources.empty())).toBe(true);
    expect(Resources.empty().contains(a)).toBe(false);
  });
});

describe('ranges', () => {
  test('are normalised: sorted, overlapping and adjacent intervals merged', () => {
    expect(ports([10, 12], [1, 3], [4, 5], [11, 20], [30, 30]).ranges('ports')).toEqual([
      { begin: 1, end: 5 },
      { begin: 10, end: 20 },
      { begin: 30, end: 30 },
    ]);
  });

  test('add merges across values', () => {
    const r = ports([1, 5], [20, 25]).add(ports([6, 9], [15, 19], [30, 31]));
    expect(r.ranges('ports')).toEqual([
      { begin: 1, end: 9 },
      { begin: 15, end: 25 },
      { begin: 30, end: 31 },
    ]);
  });

  test('subtract splits intervals and drops emptied ones', () => {
    const r = ports([1, 10], [20, 30]).subtract(ports([3, 4], [6, 6], [10, 22]));
    expect(r.ranges('ports')).toEqual([
      { begin: 1, end: 2 },
      { begin: 5, end: 5 },
      { begin: 7, end: 9 },
      { begin: 23, end: 30 },
    ]);
    expect(ports([1, 10]).subtract(ports([1, 10])).isEmpty()).toBe(true);
    // A hole wider than the interval, and one spanning two intervals.
    expect(ports([5, 6], [8, 9]).subtract(ports([0, 100])).isEmpty()).toBe(true);
    expect(ports([1, 3], [5, 7]).subtract(ports([3, 5])).ranges('ports')).toEqual([
      { begin: 1, end: 2 },
      { begin: 6, end: 7 },
    ]);
  });

  test('contains needs every port: a range across a gap is not contained', () => {
    const have = ports([1, 3], [5, 10]);
    expect(have.contains(ports([2, 3], [6, 9]))).toBe(true);
    expect(have.contains(ports([3, 5]))).toBe(false);
    expect(have.contains(ports([9, 11]))).toBe(false);
    expect(have.contains(ports([0, 0]))).toBe(false);
  });
});

describe('sets', () => {
  const zones = (...item: string[]): Resources => R({ sets: { zones: item } });
  test('union, difference, containment', () => {
    const r = zones('b', 'a').add(zones('c', 'a'));
    expect(r.set('zones')).toEqual(['a', 'b', 'c']);
    expect(r.subtract(zones('b')).set('zones')).toEqual(['a', 'c']);
    expect(r.contains(zones('a', 'c'))).toBe(true);
    expect(r.contains(zones('d'))).toBe(false);
    expect(zones('a').subtract(zones('a')).isEmpty()).toBe(true);
  });
});

describe('identity and equality', () => {
  test('adding to or subtracting from empty returns a value as is', () => {
    const a = R({ scalars: { cpus: 1 } });
    expect(Resources.empty().add(a)).toBe(a);
    expect(a.add(Resources.empty())).toBe(a);
    expect(a.subtract(a)).toBe(Resources.empty());
  });

  test('equals ignores the role label but compares every amount', () => {
    const a = R({ scalars: { cpus: 1 }, role: 'prod' });
    expect(a.equals(R({ scalars: { cpus: 1 } }))).toBe(true);
    expect(a.equals(R({ scalars: { cpus: 1, mem: 1 } }))).toBe(false);
    expect(ports([1, 2]).equals(ports([1, 1], [2, 2]))).toBe(true);
    expect(ports([1, 2]).equals(ports([1, 3]))).toBe(false);
  });
});

describe('validation', () => {
  test('rejects negatives, bad ranges, empty names and conflicting types', () => {
    expect(() => R({ scalars: { cpus: -1 } })).toThrow(ResourceError);
    expect(() => R({ scalars: { cpus: Number.NaN } })).toThrow(/not a finite number/);
    expect(() => R({ ranges: { ports: [{ begin: 5, end: 4 }] } })).toThrow(/begin > end/);
    expect(() => R({ ranges: { ports: [{ begin: 1.5, end: 4 }] } })).toThrow(/integer/);
    expect(() => R({ scalars: { '': 1 } })).toThrow(/empty/);
    expect(() => R({ scalars: { ports: 1 }, ranges: { ports: [] } })).toThrow(/two different types/);
  });
});

describe('Mesos v1 JSON', () => {
  test('fromProto merges same-name entries; toProto writes one entry per name', () => {
    const r = Resources.fromProto([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 } },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31001 }] } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31002, end: 31005 }] } },
      { name: 'zones', type: 'SET', set: { item: ['b', 'a'] } },
    ]);
    expect(r.toProto()).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31005 }] } },
      { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
    ]);
  });

  test('round trip keeps the role; allocationRole decorates every entry', () => {
    const r = R({ scalars: { cpus: 2, mem: 64 }, ranges: { ports: [{ begin: 1, end: 2 }] }, role: 'prod' });
    const proto = r.toProto({ allocationRole: 'prod' });
    expect(proto.every((e) => e.role === 'prod' && e.allocation_info?.role === 'prod')).toBe(true);
    const back = Resources.fromProto(proto);
    expect(back.equals(r)).toBe(true);
    expect(back.role).toBe('prod');
    expect(Resources.empty().toProto()).toEqual([]);
  });

  test('fromProto rejects type conflicts, missing values and negatives', () => {
    expect(() =>
      Resources.fromProto([
        { name: 'x', type: 'SCALAR', scalar: { value: 1 } },
        { name: 'x', type: 'SET', set: { item: [] } },
      ]),
    ).toThrow(/both SCALAR and SET/);
    expect(() => Resources.fromProto([{ name: 'cpus', type: 'SCALAR' }])).toThrow(/without 'scalar'/);
    expect(() => Resources.fromProto([{ name: 'cpus', type: 'SCALAR', scalar: { value: -2 } }])).toThrow(/negative/);
  });
});

describe('text and flat forms', () => {
  const r = R({ scalars: { cpus: 4, mem: 1024 }, ranges: { ports: [{ begin: 31000, end: 32000 }, { begin: 33000, end: 33010 }] }, sets: { zones: ['a', 'b'] } });
  test('toFlat is /master/state\'s form, with cpus, mem, disk and gpus always present', () => {
    expect(r.toFlat()).toEqual({ cpus: 4, mem: 1024, disk: 0, gpus: 0, ports: '[31000-32000, 33000-33010]', zones: '{a, b}' });
    expect(Resources.empty().toFlat()).toEqual({ cpus: 0, mem: 0, disk: 0, gpus: 0 });
  });
  test('toString is Mesos\' text form, with the role when reserved', () => {
    expect(r.toString()).toBe('cpus:4; mem:1024; ports:[31000-32000, 33000-33010]; zones:{a, b}');
    expect(r.withRole('prod').toString()).toMatch(/^cpus\(prod\):4; mem\(prod\):1024;/);
  });
});

// ---------------------------------------------------------------------------------------------
// Algebraic properties over random values (small domains, so overlaps are frequent).

const arbResources: fc.Arbitrary<Resources> = fc
  .record({
    cpus: fc.integer({ min: 0, max: 8000 }),
    mem: fc.integer({ min: 0, max: 4000 }),
    gpus: fc.integer({ min: 0, max: 2 }),
    ports: fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 6 })), { maxLength: 5 }),
    zones: fc.subarray(['a', 'b', 'c', 'd']),
  })
  .map(({ cpus, mem, gpus, ports: p, zones }) =>
    R({
      scalars: { cpus: cpus / 1000, mem: mem / 1000, gpus },
      ranges: { ports: p.map(([begin, len]) => ({ begin, end: begin + len })) },
      sets: { zones },
    }),
  );

describe('properties', () => {
  test('(a + b) - b = a, and a + b contains both', () => {
    fc.assert(
      fc.property(arbResources, arbResources, (a, b) => {
        const sum = a.add(b);
        expect(sum.contains(a)).toBe(true);
        expect(sum.contains(b)).toBe(true);
        expect(a.add(b).equals(b.add(a))).toBe(true);
        // Quantities come back exactly; ports and items of b are gone even if a had them too.
        const back = sum.subtract(b);
        expect(back.scalars().equals(a.scalars())).toBe(true);
        expect(back.ranges('ports')).toEqual(a.subtract(b).ranges('ports'));
        expect(back.set('zones')).toEqual(a.subtract(b).set('zones'));
      }),
    );
  });

  test('a - b is contained in a and shares nothing ranged with b', () => {
    fc.assert(
      fc.property(arbResources, arbResources, (a, b) => {
        const d = a.subtract(b);
        expect(a.contains(d)).toBe(true);
        for (const { begin, end } of d.ranges('ports')) {
          for (const h of b.ranges('ports')) expect(end < h.begin || begin > h.end).toBe(true);
        }
        // When b ⊆ a, (a - b) + b gives a back exactly.
        if (a.contains(b)) expect(d.add(b).equals(a)).toBe(true);
      }),
    );
  });

  test('contains agrees with subtraction: b ⊆ a iff b - a is empty', () => {
    fc.assert(
      fc.property(arbResources, arbResources, (a, b) => {
        expect(a.contains(b)).toBe(b.subtract(a).isEmpty());
      }),
    );
  });

  test('proto round trip is the identity', () => {
    fc.assert(fc.property(arbResources, (a) => expect(Resources.fromProto(a.toProto()).equals(a)).toBe(true)));
  });
});
