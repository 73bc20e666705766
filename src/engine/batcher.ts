// Dynamic batching: rows from concurrent requests share one forward, and up to `lanes`
// forwards run at once. A batch starts as soon as it is full, when a lane becomes free with
// rows waiting, or max-delay after the first row arrived at an idle lane (0: at once, so a lone
// request never waits; under load the rows that arrive during a forward make the next batch).
import type { Tensor } from '../tensor.js';
import { concat, split } from '../tensor.js';

export interface BatcherOptions {
  /** Rows per forward (already capped by the backend's own maxBatch). */
  maxBatch: number;
  /** How long a row may wait at an idle lane for others to join it. */
  maxDelayMs: number;
  /** Forwards at once (the backend's lanes). */
  lanes: number;
}

/** One image's share of a forward. */
export interface RowResult {
  /** Logits row [1, classes]. */
  logits: Tensor;
  /** Time from submit until its batch started. */
  queueMs: number;
  /** Duration of the forward it ran in. */
  inferenceMs: number;
  batchSize: number;
}

export interface BatchObserver {
  queueDepth(rows: number): void;
  batch(size: number, seconds: number): void;
}

interface Job {
  row: Tensor;
  enqueued: number;
  resolve(result: RowResult): void;
  reject(err: Error): void;
}

export class Batcher {
  readonly #queue: Job[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #running = new Set<Promise<void>>();
  /**
   * Buffers batches are stacked into, one per running forward and reused: a new one per batch
   * (600 KB a row) was garbage the main thread collected. A forward holds its buffer until it ends.
   */
  readonly #buffers: Float32Array[] = [];

  constructor(
    private readonly forward: (batch: Tensor) => Promise<Tensor>,
    readonly options: BatcherOptions,
    private readonly observer?: BatchObserver,
  ) {}

  get depth(): number {
    return this.#queue.length;
  }

  /** Queues rows [1, 3, 224, 224] and resolves each with its logits. */
  submit(rows: readonly Tensor[]): Promise<RowResult>[] {
    const results = rows.map(
      (row) => new Promise<RowResult>((resolve, reject) => this.#queue.push({ row, enqueued: performance.now(), resolve, reject })),
    );
    this.observer?.queueDepth(this.#queue.length);
    this.#schedule();
    return results;
  }

  /** Resolves once every queued row has run. */
  async drain(): Promise<void> {
    while (this.#running.size || this.#queue.length) {
      if (this.#queue.length) this.#start();
      await Promise.race(this.#running);
    }
  }

  #schedule(): void {
    if (this.#running.size >= this.options.lanes) return; // a lane that frees up takes the queue
    if (this.#queue.length >= this.options.maxBatch || this.options.maxDelayMs <= 0) this.#start();
    else this.#timer ??= setTimeout(() => this.#start(), this.options.maxDelayMs);
  }

  #start(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length && this.#running.size < this.options.lanes) {
      const jobs = this.#queue.splice(0, this.options.maxBatch);
      this.observer?.queueDepth(this.#queue.length);
      const running: Promise<void> = this.#run(jobs).finally(() => {
        this.#running.delete(running);
        // Rows that arrived during the forward have waited long enough: run them now.
        if (this.#queue.length) this.#start();
      });
      this.#running.add(running);
    }
  }

  async #run(jobs: Job[]): Promise<void> {
    const started = performance.now();
    const rows = jobs.map((j) => j.row);
    const size = rows.reduce((n, r) => n + r.data.length, 0);
    // One row needs no stacking: it goes to the forward as it is.
    const pooled = rows.length > 1 ? this.#buffers.pop() : undefined;
    const room = Math.max(size, (size / rows.length) * this.options.maxBatch);
    const out = rows.length === 1 ? undefined : pooled && pooled.length >= size ? pooled : new Float32Array(room);
    try {
      const logits = split(await this.forward(concat(rows, out)));
      const inferenceMs = performance.now() - started;
      this.observer?.batch(jobs.length, inferenceMs / 1000);
      jobs.forEach((job, i) =>
        job.resolve({ logits: logits[i], queueMs: started - job.enqueued, inferenceMs, batchSize: jobs.length }),
      );
    } catch (err) {
      for (const job of jobs) job.reject(err as Error);
    } finally {
      if (out) this.#buffers.push(out);
    }
  }
}
