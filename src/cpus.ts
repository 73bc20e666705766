import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPUs this process may really use: the cgroup CPU quota of a container (v2 cpu.max
 * or v1 cfs quota), not the host's core count, so threads do not oversubscribe.
 */
export function availableCpus(): number {
  const cores = availableParallelism();
  const quota = cgroupQuota();
  return Math.max(1, Math.min(cores, quota ? Math.floor(quota) || 1 : cores));
}

function cgroupQuota(): number | undefined {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read('/sys/fs/cgroup/cpu.max')?.split(' ');
  if (v2 && v2[0] !== 'max') return Number(v2[0]) / Number(v2[1]);
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return quota > 0 && period > 0 ? quota / period : undefined;
}
