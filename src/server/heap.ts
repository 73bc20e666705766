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
