// `npm run bench`: runs every bench and prints one table. Not part of the tests (timings depend on
// the machine). Add a bench by importing its function and appending it to BENCHES.
// Usage: node --no-node-snapshot test/bench/run.ts [name-filter...]
import { benchAllocator } from './allocator.bench.ts';
import { benchLaunch } from './launch.bench.ts';
import { printTable, type BenchRow } from './table.ts';

const BENCHES: Array<{ name: string; run: () => Promise<BenchRow[]> }> = [
  { name: 'allocator', run: benchAllocator },
  { name: 'launch', run: benchLaunch },
];

const only = process.argv.slice(2);
const rows: BenchRow[] = [];
for (const bench of BENCHES) {
  if (only.length > 0 && !only.some((f) => bench.name.includes(f))) continue;
  process.stderr.write(`running ${bench.name}...\n`);
  rows.push(...(await bench.run()));
}
printTable(rows);
