// Resources: an immutable bag of scalars (cpus, mem, disk, any custom), ranges (ports) and sets,
// as in Mesos' src/common/resources.cpp, but flat: one value carries one (reservation) role label,
// which arithmetic ignores. Every operation returns a new value; nothing is mutated after
// construction, so values can be shared freely between the allocator, the sorter and offers.
//
// Representation (what must stay true for every instance, the "canonical form"):
// - scalars: names sorted ascending, amounts as positive integers of milli-units. Mesos keeps three
//   decimals of fixed-point precision; integers make 0.1 + 0.2 exactly 0.3 and never drift.
//   Zero amounts are dropped, so two equal bags have identical arrays.
// - ranges: names sorted; each value a flat array [b0, e0, b1, e1, ...] of inclusive intervals,
//   sorted, non-overlapping and non-adjacent (adjacent intervals are coalesced, as Mesos does).
//   Empty range lists are dropped.
// - sets: names sorted; items sorted and unique; empty sets dropped.
// The allocator calls add/subtract/contains once per agent per cycle, so these are merge walks over
// sorted arrays with identity fast paths (x + empty is x itself), and allocate nothing when they can.
import type { Resource } from '../protocol/messages.ts';

/** Thrown when resources are malformed (negative amounts, bad ranges, conflicting types). */
export class ResourceError extends Error {
  override name = 'ResourceError';
}

export interface Range {
  begin: number;
  end: number;
}

/** A plain description of resources, validated and normalised by `Resources.fromParts`. */
export interface ResourceParts {
  scalars?: Record<string, number>;
  ranges?: Record<string, ReadonlyArray<Range>>;
  sets?: Record<string, Iterable<string>>;
  /** Reservation role; '*' (unreserved) by default. A label only: arithmetic ignores it. */
  role?: string;
}

export interface ToProtoOptions {
  /** Written as `role` on every entry (defaults to this value's role; omitted when '*'). */
  role?: string;
  /** When set, every entry gets `allocation_info: { role }` (Mesos' multi-role offers). */
  allocationRole?: string;
}

const MILLI = 1000;
/** Scalars keep three decimals, as Mesos' fixed-point Value::Scalar does. */
export const toMilli = (value: number): number => Math.round(value * MILLI);
const fromMilli = (milli: number): number => milli / MILLI;

/** The names that /master/state always shows, even when zero. */
const FLAT_ALWAYS = ['cpus', 'mem', 'disk', 'gpus'] as const;

type Names = readonly string[];
const NONE: Names = Object.freeze([]);
const NO_NUMBERS: readonly number[] = Object.freeze([]);

export class Resources {
  readonly role: string;
  private readonly sNames: Names;
  private readonly sMilli: readonly number[];
  private readonly rNames: Names;
  private readonly rVals: ReadonlyArray<readonly number[]>;
  private readonly tNames: Names; // sets
  private readonly tVals: ReadonlyArray<Names>;

  /** Internal: callers pass canonical arrays (see the header). Use the static constructors. */
  private constructor(
    role: string,
    sNames: Names,
    sMilli: readonly number[],
    rNames: Names,
    rVals: ReadonlyArray<readonly number[]>,
    tNames: Names,
    tVals: ReadonlyArray<Names>,
  ) {
    this.role = role;
    this.sNames = sNames;
    this.sMilli = sMilli;
    this.rNames = rNames;
    this.rVals = rVals;
    this.tNames = tNames;
    this.tVals = tVals;
  }

  private static readonly EMPTY = new Resources('*', NONE, NO_NUMBERS, NONE, [], NONE, []);

  static empty(): Resources {
    return Resources.EMPTY;
  }

  /** Builds a value from plain parts, validating as Mesos does: no negatives, begin <= end, integers for ranges. */
  static fromParts(parts: ResourceParts): Resources {
    const role = parts.role ?? '*';
    const seen = new Set<string>();
    const claim = (name: string): void => {
      if (name.length === 0) throw new ResourceError('resource name must not be empty');
      if (seen.has(name)) throw new ResourceError(`resource '${name}' is given with two different types`);
      seen.add(name);
    };
    const scalars = Object.entries(parts.scalars ?? {}).map(([name, value]): [string, number] => {
      claim(name);
      if (!Number.isFinite(value)) throw new ResourceError(`resource '${name}': ${value} is not a finite number`);
      if (value < 0) throw new ResourceError(`resource '${name}': negative value ${value}`);
      return [name, toMilli(value)];
    });
    const ranges = Object.entries(parts.ranges ?? {}).map(([name, list]): [string, number[]] => {
      claim(name);
      for (const { begin, end } of list) {
        if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0) {
          throw new ResourceError(`resource '${name}': range [${begin}-${end}] must have non-negative integer bounds`);
        }
        if (begin > end) throw new ResourceError(`resource '${name}': range [${begin}-${end}] has begin > end`);
      }
      return [name, normalizeRanges(list)];
    });
    const sets = Object.entries(parts.sets ?? {}).map(([name, items]): [string, string[]] => {
      claim(name);
      return [name, [...new Set(items)].sort()];
    });
    return Resources.canonical(role, scalars, ranges, sets);
  }

  /** Sorts by name and drops empty entries: the one place a new value is made from loose parts. */
  private static canonical(
    role: string,
    scalars: Array<[string, number]>,
    ranges: Array<[string, number[]]>,
    sets: Array<[string, string[]]>,
  ): Resources {
    const byName = <T>(a: [string, T], b: [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    const s = scalars.filter(([, m]) => m > 0).sort(byName);
    const r = ranges.filter(([, v]) => v.length > 0).sort(byName);
    const t = sets.filter(([, v]) => v.length > 0).sort(byName);
    if (s.length === 0 && r.length === 0 && t.length === 0 && role === '*') return Resources.EMPTY;
    const names = <T>(list: Array<[string, T]>): string[] => list.map((e) => e[0]);
    const values = <T>(list: Array<[string, T]>): T[] => list.map((e) => e[1]);
    return new Resources(role, names(s), values(s), names(r), values(r), names(t), values(t));
  }

  /**
   * From Mesos v1 JSON. Entries with the same name are merged (scalars summed, ranges and sets
   * unioned), as Mesos' Resources does. The role of the first entry becomes the value's label.
   */
  static fromProto(list: ReadonlyArray<Resource>): Resources {
    const scalars: Record<string, number> = {};
    const ranges: Record<string, Range[]> = {};
    const sets: Record<string, string[]> = {};
    const types = new Map<string, string>();
    for (const r of list) {
      const known = types.get(r.name);
      if (known !== undefined && known !== r.type) {
        throw new ResourceError(`resource '${r.name}' is given as both ${known} and ${r.type}`);
      }
      types.set(r.name, r.type);
      if (r.type === 'SCALAR') {
        if (r.scalar === undefined) throw new ResourceError(`resource '${r.name}': SCALAR without 'scalar'`);
        if (r.scalar.value < 0) throw new ResourceError(`resource '${r.name}': negative value ${r.scalar.value}`);
        scalars[r.name] = (scalars[r.name] ?? 0) + r.scalar.value;
      } else if (r.type === 'RANGES') {
        if (r.ranges === undefined) throw new ResourceError(`resource '${r.name}': RANGES without 'ranges'`);
        (ranges[r.name] ??= []).push(...r.ranges.range);
      } else {
        if (r.set === undefined) throw new ResourceError(`resource '${r.name}': SET without 'set'`);
        (sets[r.name] ??= []).push(...r.set.item);
      }
    }
    return Resources.fromParts({ scalars, ranges, sets, role: list[0]?.role ?? '*' });
  }

  /** Mesos v1 JSON, one entry per name: scalars, then ranges, then sets, each by name. */
  toProto(opts: ToProtoOptions = {}): Resource[] {
    const role = opts.role ?? this.role;
    const out: Resource[] = [];
    const decorate = (r: Resource): Resource => {
      if (opts.role !== undefined || role !== '*') r.role = role;
      if (opts.allocationRole !== undefined) r.allocation_info = { role: opts.allocationRole };
      return r;
    };
    for (let i = 0; i < this.sNames.length; i++) {
      out.push(decorate({ name: this.sNames[i], type: 'SCALAR', scalar: { value: fromMilli(this.sMilli[i]) } }));
    }
    for (let i = 0; i < this.rNames.length; i++) {
      out.push(decorate({ name: this.rNames[i], type: 'RANGES', ranges: { range: toRangeList(this.rVals[i]) } }));
    }
    for (let i = 0; i < this.tNames.length; i++) {
      out.push(decorate({ name: this.tNames[i], type: 'SET', set: { item: [...this.tVals[i]] } }));
    }
    return out;
  }

  /** The same resources under another reservation role label. */
  withRole(role: string): Resources {
    if (role === this.role) return this;
    return new Resources(role, this.sNames, this.sMilli, this.rNames, this.rVals, this.tNames, this.tVals);
  }

  isEmpty(): boolean {
    return this.sNames.length === 0 && this.rNames.length === 0 && this.tNames.length === 0;
  }

  /** this + o. The role label is this value's (or o's, when this is empty). */
  add(o: Resources): Resources {
    if (o.isEmpty()) return this;
    if (this.isEmpty()) return o;
    const [sNames, sMilli] = mergeScalars(this.sNames, this.sMilli, o.sNames, o.sMilli, 1);
    const [rNames, rVals] = mergeNamed(this.rNames, this.rVals, o.rNames, o.rVals, unionRanges);
    const [tNames, tVals] = mergeNamed(this.tNames, this.tVals, o.tNames, o.tVals, unionSets);
    return new Resources(this.role, sNames, sMilli, rNames, rVals, tNames, tVals);
  }

  /**
   * this - o. Callers subtract what they know is contained; anything that is not (more of a scalar
   * than there is, a port that is not here) is simply absent from the result — never negative.
   */
  subtract(o: Resources): Resources {
    if (o === this) return Resources.EMPTY;
    if (o.isEmpty() || this.isEmpty()) return this;
    const [sNames, sMilli] = mergeScalars(this.sNames, this.sMilli, o.sNames, o.sMilli, -1);
    const [rNames, rVals] = mergeNamed(this.rNames, this.rVals, o.rNames, o.rVals, subtractRanges);
    const [tNames, tVals] = mergeNamed(this.tNames, this.tVals, o.tNames, o.tVals, subtractSets);
    if (sNames.length === 0 && rNames.length === 0 && tNames.length === 0) return Resources.EMPTY;
    return new Resources(this.role, sNames, sMilli, rNames, rVals, tNames, tVals);
  }

  /** Whether every scalar amount, port and set item of o is also in this. */
  contains(o: Resources): boolean {
    if (o === this || o.isEmpty()) return true;
    return (
      containsNamed(this.sNames, this.sMilli, o.sNames, o.sMilli, (a, b) => a >= b) &&
      containsNamed(this.rNames, this.rVals, o.rNames, o.rVals, rangesContain) &&
      containsNamed(this.tNames, this.tVals, o.tNames, o.tVals, setContains)
    );
  }

  /** Same amounts, ports and items. The role label is not compared (arithmetic ignores it). */
  equals(o: Resources): boolean {
    if (o === this) return true;
    return (
      sameNamed(this.sNames, this.sMilli, o.sNames, o.sMilli, (a, b) => a === b) &&
      sameNamed(this.rNames, this.rVals, o.rNames, o.rVals, sameArray) &&
      sameNamed(this.tNames, this.tVals, o.tNames, o.tVals, sameArray)
    );
  }

  /** The amount of a scalar (0 when absent), with Mesos' three decimals. */
  scalar(name: string): number {
    return fromMilli(this.scalarMilli(name));
  }

  /** The amount of a scalar in integer milli-units: exact, for sums and comparisons. */
  scalarMilli(name: string): number {
    const i = this.sNames.indexOf(name);
    return i < 0 ? 0 : this.sMilli[i];
  }

  /** Names of the scalars present (non-zero), sorted. The array is shared: do not mutate it. */
  scalarNames(): readonly string[] {
    return this.sNames;
  }

  /** The amount of the i-th name of `scalarNames()`, in milli-units; with it, a walk costs no lookups. */
  scalarMilliAt(i: number): number {
    return this.sMilli[i];
  }

  /** Visits every scalar with its amount in milli-units; the sorter's hot path (no allocation). */
  forEachScalarMilli(fn: (name: string, milli: number) => void): void {
    for (let i = 0; i < this.sNames.length; i++) fn(this.sNames[i], this.sMilli[i]);
  }

  /** The scalar part only: what the sorter counts in shares (ranges and sets do not count, as in Mesos). */
  scalars(): Resources {
    if (this.rNames.length === 0 && this.tNames.length === 0) return this;
    return new Resources(this.role, this.sNames, this.sMilli, NONE, [], NONE, []);
  }

  ranges(name: string): Range[] {
    const i = this.rNames.indexOf(name);
    return i < 0 ? [] : toRangeList(this.rVals[i]);
  }

  rangeNames(): readonly string[] {
    return this.rNames;
  }

  set(name: string): string[] {
    const i = this.tNames.indexOf(name);
    return i < 0 ? [] : [...this.tVals[i]];
  }

  setNames(): readonly string[] {
    return this.tNames;
  }

  /**
   * Mesos' flattened form in /master/state: {"cpus":4,"mem":1024,"disk":0,"gpus":0,"ports":"[31000-32000]"}.
   * cpus, mem, disk and gpus are always present as numbers; ranges and sets are written as text.
   */
  toFlat(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    for (const name of FLAT_ALWAYS) out[name] = 0;
    for (let i = 0; i < this.sNames.length; i++) out[this.sNames[i]] = fromMilli(this.sMilli[i]);
    for (let i = 0; i < this.rNames.length; i++) out[this.rNames[i]] = formatRangeValue(this.rVals[i]);
    for (let i = 0; i < this.tNames.length; i++) out[this.tNames[i]] = formatSetValue(this.tVals[i]);
    return out;
  }

  /** Mesos' text form, e.g. `cpus:4; mem:1024; ports:[31000-32000]`; the role is shown when reserved. */
  toString(): string {
    const role = this.role === '*' ? '' : `(${this.role})`;
    const parts: string[] = [];
    for (let i = 0; i < this.sNames.length; i++) parts.push(`${this.sNames[i]}${role}:${fromMilli(this.sMilli[i])}`);
    for (let i = 0; i < this.rNames.length; i++) parts.push(`${this.rNames[i]}${role}:${formatRangeValue(this.rVals[i])}`);
    for (let i = 0; i < this.tNames.length; i++) parts.push(`${this.tNames[i]}${role}:${formatSetValue(this.tVals[i])}`);
    return parts.join('; ');
  }
}

// ---------------------------------------------------------------------------------------------
// Text forms of values, shared with resource-text.ts.

/** Sorts and coalesces intervals (overlapping or adjacent) into the flat canonical form. */
export function normalizeRanges(list: ReadonlyArray<Range>): number[] {
  const sorted = [...list].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const out: number[] = [];
  for (const { begin, end } of sorted) {
    const last = out.length - 1;
    if (last > 0 && begin <= out[last] + 1) {
      if (end > out[last]) out[last] = end;
    } else {
      out.push(begin, end);
    }
  }
  return out;
}

function toRangeList(flat: readonly number[]): Range[] {
  const out: Range[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ begin: flat[i], end: flat[i + 1] });
  return out;
}

export function formatRangeValue(flat: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < flat.length; i += 2) parts.push(`${flat[i]}-${flat[i + 1]}`);
  return `[${parts.join(', ')}]`;
}

export function formatSetValue(items: readonly string[]): string {
  return `{${items.join(', ')}}`;
}

// ---------------------------------------------------------------------------------------------
// Merge walks over name-sorted parallel arrays.

/** a + sign*b per name; results <= 0 are dropped (subtraction never goes negative). */
function mergeScalars(an: Names, av: readonly number[], bn: Names, bv: readonly number[], sign: 1 | -1): [string[], number[]] {
  const names: string[] = [];
  const vals: number[] = [];
  let i = 0;
  let j = 0;
  while (i < an.length || j < bn.length) {
    let name: string;
    let v: number;
    if (j >= bn.length || (i < an.length && an[i] < bn[j])) {
      name = an[i];
      v = av[i++];
    } else if (i >= an.length || bn[j] < an[i]) {
      name = bn[j];
      v = sign * bv[j++];
    } else {
      name = an[i];
      v = av[i++] + sign * bv[j++];
    }
    if (v > 0) {
      names.push(name);
      vals.push(v);
    }
  }
  return [names, vals];
}

/** Per-name combination for ranges and sets; `op(a, undefined)` keeps a, empty results are dropped. */
function mergeNamed<T extends readonly unknown[]>(
  an: Names,
  av: ReadonlyArray<T>,
  bn: Names,
  bv: ReadonlyArray<T>,
  op: (a: T | undefined, b: T | undefined) => T,
): [Names, ReadonlyArray<T>] {
  if (bn.length === 0) return [an, av];
  const names: string[] = [];
  const vals: T[] = [];
  let i = 0;
  let j = 0;
  while (i < an.length || j < bn.length) {
    let name: string;
    let v: T;
    if (j >= bn.length || (i < an.length && an[i] < bn[j])) {
      name = an[i];
      v = av[i++];
    } else if (i >= an.length || bn[j] < an[i]) {
      name = bn[j];
      v = op(undefined, bv[j++]);
    } else {
      name = an[i];
      v = op(av[i++], bv[j++]);
    }
    if (v.length > 0) {
      names.push(name);
      vals.push(v);
    }
  }
  return [names, vals];
}

/** Whether every name of b is in a with `has(a, b)`. */
function containsNamed<T>(an: Names, av: ReadonlyArray<T>, bn: Names, bv: ReadonlyArray<T>, has: (a: T, b: T) => boolean): boolean {
  let i = 0;
  for (let j = 0; j < bn.length; j++) {
    while (i < an.length && an[i] < bn[j]) i++;
    if (i >= an.length || an[i] !== bn[j] || !has(av[i], bv[j])) return false;
  }
  return true;
}

function sameNamed<T>(an: Names, av: ReadonlyArray<T>, bn: Names, bv: ReadonlyArray<T>, same: (a: T, b: T) => boolean): boolean {
  if (an.length !== bn.length) return false;
  for (let i = 0; i < an.length; i++) if (an[i] !== bn[i] || !same(av[i], bv[i])) return false;
  return true;
}

function sameArray<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Interval arithmetic on canonical flat arrays.

function unionRanges(a: readonly number[] | undefined, b: readonly number[] | undefined): readonly number[] {
  if (a === undefined || a.length === 0) return b ?? NO_NUMBERS;
  if (b === undefined || b.length === 0) return a;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let begin: number;
    let end: number;
    if (j >= b.length || (i < a.length && a[i] <= b[j])) {
      begin = a[i];
      end = a[i + 1];
      i += 2;
    } else {
      begin = b[j];
      end = b[j + 1];
      j += 2;
    }
    const last = out.length - 1;
    if (last > 0 && begin <= out[last] + 1) {
      if (end > out[last]) out[last] = end;
    } else {
      out.push(begin, end);
    }
  }
  return out;
}

function subtractRanges(a: readonly number[] | undefined, b: readonly number[] | undefined): readonly number[] {
  if (a === undefined || a.length === 0) return NO_NUMBERS;
  if (b === undefined || b.length === 0) return a;
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let begin = a[i];
    const end = a[i + 1];
    // Skip holes entirely before this interval; they cannot touch later intervals either.
    while (j < b.length && b[j + 1] < begin) j += 2;
    let k = j;
    while (k < b.length && b[k] <= end && begin <= end) {
      if (b[k] > begin) out.push(begin, b[k] - 1);
      begin = Math.max(begin, b[k + 1] + 1);
      k += 2;
    }
    if (begin <= end) out.push(begin, end);
  }
  return out;
}

/** Every interval of b lies inside one interval of a (a is coalesced, so "one" suffices). */
function rangesContain(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  let i = 0;
  for (let j = 0; j < b.length; j += 2) {
    while (i < a.length && a[i + 1] < b[j]) i += 2;
    if (i >= a.length || a[i] > b[j] || a[i + 1] < b[j + 1]) return false;
  }
  return true;
}

function unionSets(a: Names | undefined, b: Names | undefined): Names {
  if (a === undefined || a.length === 0) return b ?? NONE;
  if (b === undefined || b.length === 0) return a;
  return [...new Set([...a, ...b])].sort();
}

function subtractSets(a: Names | undefined, b: Names | undefined): Names {
  if (a === undefined) return NONE;
  if (b === undefined || b.length === 0) return a;
  const drop = new Set(b);
  return a.filter((x) => !drop.has(x));
}

function setContains(a: Names, b: Names): boolean {
  if (a === b) return true;
  let i = 0;
  for (const x of b) {
    while (i < a.length && a[i] < x) i++;
    if (a[i] !== x) return false;
  }
  return true;
}
