// Under load the service's main thread keeps ~17 MB live, and V8 sets its next full collection
// only ~12 MB above that, less than the young generation's capacity, so it ran a Mark-Compact
// every ~400 ms (0.4–1.2 s of main-thread GC per 10 s of load, ~0.5–1 CPU-ms per
// photo, measured with --trace-gc). Letting the heap grow to 3× its live size before the next one
// (V8 chose ~1.7× here) left 1–2 per 10 s. V8 reads the flag each time it sets that limit, so
// setting it at start is enough; the flag is process-wide, so the decode workers' heaps get it too.
import { setFlagsFromString } from 'node:v8';

export function tuneHeapForServing(): void {
  setFlagsFromString('--heap-growing-percent=200');
}

/**
 * glibc gives threads up to 8 malloc arenas per core, and what decodes leave in each stays after
 * a trim (native/heap_trim.cc): 10 000 fuzzed photos (sharp) took the idle service from 517 to
 * 595 MB; with 2 arenas, from 469 to 489 MB (4 arenas: 497 to 578). glibc fixes the limit when
 * the second thread allocates, before any of our code runs, so mallopt() is too late: the service
 * restarts itself in place (same process, same pid) with MALLOC_ARENA_MAX set, unless it is set.
 */
const ARENAS = '2';

export function relaunchWithFewerArenas(): void {
  if (process.env.MALLOC_ARENA_MAX !== undefined || !glibc() || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, MALLOC_ARENA_MAX: ARENAS });
}

function glibc(): boolean {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime !== undefined;
}
