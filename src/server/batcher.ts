// Dynamic batching: rows from concurrent requests share one forward. A batch starts as soon
// as it is full, when the model becomes free with rows waiting, or max-delay after the first
// row arrived at an idle model, so a lone request waits at most max-delay.
import type { Tensor } from '../tensor.js';
import { concat, split } from '../tensor.js';

export interface BatcherOptions {
  /** Rows per forward (already capped by the backend's own maxBatch). */
  maxBatch: number;
  /** How long a row may wait at an idle model for others to join it. */
  maxDelayMs: number;
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
  #running: Promise<void> | undefined;

  constructor(
    private readonly forward: (batch: Tensor) => Promise<Tensor>,
    readonly options: BatcherOptions,
    private readonly observer: BatchObserver,
  ) {}

  get depth(): number {
    return this.#queue.length;
  }

  /** Queues rows [1, 3, 224, 224] and resolves each with its logits. */
  submit(rows: readonly Tensor[]): Promise<RowResult>[] {
    const results = rows.map(
      (row) => new Promise<RowResult>((resolve, reject) => this.#queue.push({ row, enqueued: performance.now(), resolve, reject })),
    );
    this.observer.queueDepth(this.#queue.length);
    this.#schedule();
    return results;
  }

  /** Resolves once every queued row has run. */
  async drain(): Promise<void> {
    while (this.#running || this.#queue.length) {
      if (!this.#running) this.#start();
      await this.#running;
    }
  }

  #schedule(): void {
    if (this.#running) return; // the running batch picks the queue up when it ends
    if (this.#queue.length >= this.options.maxBatch || this.options.maxDelayMs <= 0) this.#start();
    else this.#timer ??= setTimeout(() => this.#start(), this.options.maxDelayMs);
  }

  #start(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const jobs = this.#queue.splice(0, this.options.maxBatch);
    if (jobs.length === 0) return;
    this.observer.queueDepth(this.#queue.length);
    this.#running = this.#run(jobs).finally(() => {
      this.#running = undefined;
      // Rows that arrived during the forward have waited long enough: run them now.
      if (this.#queue.length) this.#start();
    });
  }

  async #run(jobs: Job[]): Promise<void> {
    const started = performance.now();
    try {
      const logits = split(await this.forward(concat(jobs.map((j) => j.row))));
      const inferenceMs = performance.now() - started;
      this.observer.batch(jobs.length, inferenceMs / 1000);
      jobs.forEach((job, i) =>
        job.resolve({ logits: logits[i], queueMs: started - job.enqueued, inferenceMs, batchSize: jobs.length }),
      );
    } catch (err) {
      for (const job of jobs) job.reject(err as Error);
    }
  }
}
