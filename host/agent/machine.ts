// The resources an agent offers when none are given (`agora agent` without --resources), probed
// from the machine with Mesos' rules (src/slave/containerizer/containerizer.cpp,
// Containerizer::resources):
// - cpus: the CPUs this process may use (os.availableParallelism(), which honours affinity).
// - mem:  total >= 2 GB ? total - 1 GB : total / 2   (leave room for the system).
// - disk: size >= 10 GB ? size - 5 GB : size / 2, where Mesos takes the *total* size of the work
//         dir's filesystem. We take the space *available* to us instead (statfs bavail): on a
//         shared machine, offering space other programs already use only makes tasks fail later.
// - ports: [31000-32000], Mesos' DEFAULT_PORTS.
// Values are whole megabytes, as Mesos writes them.
import { mkdir, statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import type { Resource } from '../protocol/messages.ts';

const MB = 1024 * 1024;
const GB = 1024 * MB;

export const DEFAULT_PORTS = { begin: 31000, end: 32000 };

export function defaultMemBytes(total: number): number {
  return total >= 2 * GB ? total - GB : Math.floor(total / 2);
}

export function defaultDiskBytes(available: number): number {
  return available >= 10 * GB ? available - 5 * GB : Math.floor(available / 2);
}

export async function defaultResources(workDir: string): Promise<Resource[]> {
  await mkdir(workDir, { recursive: true });
  const fs = await statfs(workDir);
  const available = Number(fs.bavail) * Number(fs.bsize);
  return [
    { name: 'cpus', type: 'SCALAR', scalar: { value: availableParallelism() } },
    { name: 'mem', type: 'SCALAR', scalar: { value: Math.floor(defaultMemBytes(totalmem()) / MB) } },
    { name: 'disk', type: 'SCALAR', scalar: { value: Math.floor(defaultDiskBytes(available) / MB) } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ ...DEFAULT_PORTS }] } },
  ];
}
