// Gives the memory decode workers free back to the system (native/heap_trim.cc says why glibc
// keeps it): at most once every TRIM_DELAY_MS while photos are decoded, and once that long after
// the last, so an idle service's RSS comes back down. Without the decode addon, nothing is trimmed.
import { libjpeg } from '../image/libjpeg.js';

const TRIM_DELAY_MS = 2_000;

export class HeapTrimmer {
  #timer: NodeJS.Timeout | undefined;

  /** Called after each decode: a trim follows within TRIM_DELAY_MS. */
  soon(): void {
    if (this.#timer) return;
    const addon = libjpeg();
    if (!addon) return;
    this.#timer = setTimeout(() => {
      void addon.trimHeap().finally(() => (this.#timer = undefined));
    }, TRIM_DELAY_MS).unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }
}
