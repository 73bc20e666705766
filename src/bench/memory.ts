import { readFileSync } from 'node:fs';

/**
 * Peak resident memory of a live process in MB: Linux's VmHWM, the high-water mark of the
 * process's own address space. (process.resourceUsage().maxRSS is no use in a child: Linux
 * carries ru_maxrss over exec, so a child of a 600 MB parent reports 600 MB.) Undefined where
 * /proc is missing or the process has exited.
 */
export function peakRssMb(pid = process.pid): number | undefined {
  try {
    const kb = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return kb ? Number(kb[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
