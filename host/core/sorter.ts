// The DRF sorter, as in Mesos' src/master/allocator/sorter/drf: it only orders clients (roles, or
// frameworks within a role) by their dominant share; the allocator decides what to do with the order.
//
//   share(c) = max over scalar resources r of allocation(c, r) / total(r), divided by weight(c)
//
// Only scalars count (cpus, mem, disk, gpus, custom); ranges and sets do not, as in Mesos. A resource
// with no total in the pool is skipped. Ties are broken by client name, so the order is
// deterministic.
//
// The allocator updates one client after every agent it hands out, so the order is kept as a sorted
// array of active clients and a changed client is moved by binary search (O(log n) comparisons and a
// short copy), instead of re-sorting. A change of the pool (agents added or removed) changes every
// share; that marks the order dirty and the next `sort()` recomputes everything once.
import type { Resources } from './resources.ts';

interface Client {
  readonly name: string;
  /**
   * Allocated scalar amounts in milli-units (integers, so allocate-then-free returns exactly),
   * indexed by the sorter's slot for each resource name: share computation is an array walk.
   */
  readonly alloc: number[];
  weight: number;
  /** The share the client is ordered by; fresh unless the sorter is dirty. */
  share: number;
  active: boolean;
}

export interface ClientOptions {
  weight?: number;
  active?: boolean;
}

export class DRFSorter {
  private readonly clients = new Map<string, Client>();
  /** Resource name -> slot in `total` and every client's `alloc`. Slots are never reused. */
  private readonly slots = new Map<string, number>();
  private readonly slotNames: string[] = [];
  /** The pool, in milli-units by slot. */
  private readonly total: number[] = [];
  /** Active clients, ascending by (share, name); `names` mirrors it for callers. */
  private order: Client[] = [];
  private names: string[] = [];
  /** The pool changed since the order was computed: shares are stale until the next sort(). */
  private dirty = false;

  /** Adds a client (active by default). Adding an existing client is an error: it would lose its allocation. */
  addClient(name: string, opts: ClientOptions = {}): void {
    if (this.clients.has(name)) throw new Error(`sorter: client '${name}' already exists`);
    const c: Client = { name, alloc: [], weight: checkWeight(opts.weight ?? 1), share: 0, active: false };
    this.clients.set(name, c);
    if (opts.active ?? true) this.activate(name);
  }

  /** Forgets a client and its allocation. */
  removeClient(name: string): void {
    const c = this.clients.get(name);
    if (c === undefined) return;
    this.deactivate(name);
    this.clients.delete(name);
  }

  has(name: string): boolean {
    return this.clients.has(name);
  }

  isActive(name: string): boolean {
    return this.clients.get(name)?.active ?? false;
  }

  /** Number of clients, active or not. */
  get size(): number {
    return this.clients.size;
  }

  activate(name: string): void {
    const c = this.client(name);
    if (c.active) return;
    c.active = true;
    c.share = this.computeShare(c);
    const at = this.dirty ? this.order.length : this.insertionPoint(c);
    this.order.splice(at, 0, c);
    this.names.splice(at, 0, c.name);
  }

  /** Inactive clients keep their allocation (it still counts in the pool) but are not returned by sort(). */
  deactivate(name: string): void {
    const c = this.client(name);
    if (!c.active) return;
    const at = this.dirty ? this.order.indexOf(c) : this.indexOf(c);
    this.order.splice(at, 1);
    this.names.splice(at, 1);
    c.active = false;
  }

  updateWeight(name: string, weight: number): void {
    const c = this.client(name);
    c.weight = checkWeight(weight);
    this.reposition(c);
  }

  weight(name: string): number {
    return this.client(name).weight;
  }

  /** Adds resources to the pool that shares are measured against (an agent's total). */
  add(resources: Resources): void {
    if (this.addInto(this.total, resources, 1)) this.dirty = true;
  }

  /** Removes resources from the pool (an agent went away). */
  remove(resources: Resources): void {
    if (this.addInto(this.total, resources, -1)) this.dirty = true;
  }

  /** Records that `resources` went to the client, and moves it to its new place in the order. */
  allocated(name: string, resources: Resources): void {
    const c = this.client(name);
    if (this.addInto(c.alloc, resources, 1)) this.reposition(c);
  }

  /** Records that the client gave `resources` back. */
  unallocated(name: string, resources: Resources): void {
    const c = this.client(name);
    if (this.addInto(c.alloc, resources, -1)) this.reposition(c);
  }

  /** The client's weighted dominant share, always against the current pool. */
  share(name: string): number {
    return this.computeShare(this.client(name));
  }

  /** The client's allocated scalars, in ordinary units. */
  allocation(name: string): Record<string, number> {
    return this.toRecord(this.client(name).alloc);
  }

  /** The pool's scalars, in ordinary units. */
  totals(): Record<string, number> {
    return this.toRecord(this.total);
  }

  /**
   * Active clients by ascending share (ties by name). The array is the sorter's own: read it, do
   * not keep it across updates (the allocator walks it and stops at its first allocation).
   */
  sort(): readonly string[] {
    if (this.dirty) {
      for (const c of this.order) c.share = this.computeShare(c);
      this.order.sort(compare);
      this.names = this.order.map((c) => c.name);
      this.dirty = false;
    }
    return this.names;
  }

  // -------------------------------------------------------------------------------------------

  private client(name: string): Client {
    const c = this.clients.get(name);
    if (c === undefined) throw new Error(`sorter: unknown client '${name}'`);
    return c;
  }

  private computeShare(c: Client): number {
    let share = 0;
    const alloc = c.alloc;
    const total = this.total;
    for (let i = 0; i < alloc.length; i++) {
      const t = total[i];
      if (!(t > 0) || alloc[i] === 0) continue;
      const s = alloc[i] / t;
      if (s > share) share = s;
    }
    return share / c.weight;
  }

  /** into[slot] += sign * scalars(r). Returns whether r had any scalar (so shares may have changed). */
  private addInto(into: number[], r: Resources, sign: 1 | -1): boolean {
    const names = r.scalarNames();
    for (let i = 0; i < names.length; i++) {
      const slot = this.slot(names[i]);
      while (into.length <= slot) into.push(0);
      const next = into[slot] + sign * r.scalarMilliAt(i);
      into[slot] = next > 0 ? next : 0;
    }
    return names.length > 0;
  }

  private slot(name: string): number {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = this.slotNames.length;
      this.slots.set(name, slot);
      this.slotNames.push(name);
      this.total.push(0);
    }
    return slot;
  }

  private toRecord(milli: readonly number[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < milli.length; i++) if (milli[i] > 0) out[this.slotNames[i]] = milli[i] / 1000;
    return out;
  }

  /** Moves an active client to where its new share belongs; one binary search and one shift. */
  private reposition(c: Client): void {
    if (!c.active || this.dirty) return;
    const from = this.indexOf(c);
    c.share = this.computeShare(c);
    const order = this.order;
    const names = this.names;
    // Binary search over the order without `c`: the first index whose client sorts after c.
    let lo = 0;
    let hi = order.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = order[mid < from ? mid : mid + 1];
      if (compare(other, c) < 0) lo = mid + 1;
      else hi = mid;
    }
    const to = lo;
    // Shift the clients in between by one. A plain loop: V8's copyWithin takes a generic path
    // that was the allocator's top cost (measured: ~3 µs per move of 100 clients).
    if (to > from) {
      for (let i = from; i < to; i++) {
        order[i] = order[i + 1];
        names[i] = names[i + 1];
      }
    } else {
      for (let i = from; i > to; i--) {
        order[i] = order[i - 1];
        names[i] = names[i - 1];
      }
    }
    order[to] = c;
    names[to] = c.name;
  }

  /** Where an active client sits, found by its (share, name) key. */
  private indexOf(c: Client): number {
    let lo = 0;
    let hi = this.order.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const cmp = compare(this.order[mid], c);
      if (cmp === 0) return mid;
      if (cmp < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`sorter: client '${c.name}' is missing from the order`);
  }

  private insertionPoint(c: Client): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.order[mid], c) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Ascending share, then name: a total order, since client names are unique. */
function compare(a: Client, b: Client): number {
  if (a.share !== b.share) return a.share < b.share ? -1 : 1;
  if (a.name === b.name) return 0;
  return a.name < b.name ? -1 : 1;
}

function checkWeight(weight: number): number {
  if (!Number.isFinite(weight) || weight <= 0) throw new Error(`sorter: weight must be a positive number, got ${weight}`);
  return weight;
}
