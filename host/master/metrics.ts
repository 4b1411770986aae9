// Counters and timings behind GET /metrics/snapshot, under Mesos' key names so dashboards and
// scripts written for Mesos read them unchanged. Gauges (agents, tasks, resources) are computed
// from the master's state when a snapshot is taken; only events are counted here.

const WINDOW = 1000;

/** A fixed window of the latest samples: percentiles over recent allocation runs. */
export class Timings {
  private readonly samples = new Float64Array(WINDOW);
  private size = 0;
  private next = 0;
  count = 0;
  last = 0;

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
    this.size = Math.min(this.size + 1, WINDOW);
    this.count++;
    this.last = ms;
  }

  summary(): Record<string, number> {
    if (this.size === 0) return { count: 0 };
    const sorted = Array.from(this.samples.subarray(0, this.size)).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      count: this.count,
      min: round(sorted[0]),
      max: round(sorted[sorted.length - 1]),
      mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p99: round(at(0.99)),
    };
  }
}

export class Metrics {
  private readonly counters = new Map<string, number>();
  readonly allocationRuns = new Timings();

  count(key: string, by = 1): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  get(key: string): number {
    return this.counters.get(key) ?? 0;
  }

  allocationRun(ms: number): void {
    this.allocationRuns.record(ms);
  }

  /** Counters plus the allocator's timings, as flat Mesos-style keys. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.counters);
    out['allocator/mesos/allocation_runs'] = this.allocationRuns.count;
    out['allocator/mesos/allocation_run_ms'] = Math.round(this.allocationRuns.last * 1000) / 1000;
    for (const [k, v] of Object.entries(this.allocationRuns.summary())) {
      if (k !== 'count') out[`allocator/mesos/allocation_run_ms/${k}`] = v;
    }
    out['allocator/mesos/allocation_run_ms/count'] = this.allocationRuns.count;
    return out;
  }
}
