import { describe, expect, test } from '@jest/globals';
import { availableParallelism, totalmem } from 'node:os';
import { defaultDiskBytes, defaultMemBytes, defaultResources } from './machine.ts';
import { removeDir, tempDir } from './testing.ts';

const GB = 1024 ** 3;

describe('default resources (Mesos rules)', () => {
  test('mem leaves 1 GB from 2 GB up, half below', () => {
    expect(defaultMemBytes(24 * GB)).toBe(23 * GB);
    expect(defaultMemBytes(2 * GB)).toBe(GB);
    expect(defaultMemBytes(1 * GB)).toBe(GB / 2);
  });

  test('disk leaves 5 GB from 10 GB up, half below', () => {
    expect(defaultDiskBytes(80 * GB)).toBe(75 * GB);
    expect(defaultDiskBytes(10 * GB)).toBe(5 * GB);
    expect(defaultDiskBytes(4 * GB)).toBe(2 * GB);
  });

  test('probes this machine: cpus, mem, disk, ports', async () => {
    const dir = await tempDir('machine');
    try {
      const r = await defaultResources(`${dir}/work`);
      expect(r.map((x) => x.name)).toEqual(['cpus', 'mem', 'disk', 'ports']);
      expect(r[0].scalar?.value).toBe(availableParallelism());
      expect(r[1].scalar?.value).toBe(Math.floor(defaultMemBytes(totalmem()) / 1024 ** 2));
      expect(r[2].scalar?.value).toBeGreaterThan(0);
      expect(r[3]).toEqual({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } });
    } finally {
      await removeDir(dir);
    }
  });
});
