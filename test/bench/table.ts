// The shape every bench returns, and the table `npm run bench` prints. A bench module exports an
// async function returning BenchRow[]; run.ts collects them all and prints one table.

export interface BenchRow {
  /** What was measured, e.g. 'allocator: full cycle'. */
  name: string;
  /** The scale it was measured at, e.g. '10k agents / 1k frameworks'. */
  size: string;
  p50: number;
  p99: number;
  max: number;
  unit: 'ms';
  /** A reference figure to compare with, e.g. "Mesos 1.7.1 ≈ 1.4 s". */
  baseline?: string;
  /** The goal, e.g. '≤ 25 ms p50', with whether it was met appended by the bench. */
  target?: string;
}

/** Percentile by nearest rank over a copy of the samples (q in [0, 1]). */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** A row from raw samples in ms. */
export function summarize(name: string, size: string, samples: readonly number[], extra: Pick<BenchRow, 'baseline' | 'target'> = {}): BenchRow {
  return { name, size, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), max: Math.max(...samples), unit: 'ms', ...extra };
}

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** Prints rows as an aligned text table (stdout), one line per row. */
export function printTable(rows: readonly BenchRow[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  const header = ['bench', 'size', 'p50 ms', 'p99 ms', 'max ms', 'baseline', 'target'];
  const cells = rows.map((r) => [r.name, r.size, fmt(r.p50), fmt(r.p99), fmt(r.max), r.baseline ?? '', r.target ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const numeric = new Set([2, 3, 4]);
  const line = (c: string[]): string => c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  out(line(header));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) out(line(c));
}
