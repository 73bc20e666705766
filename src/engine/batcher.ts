// Dynamic batching: rows from concurrent requests share one forward, and up to `lanes`
// forwards run at once. A batch is due as soon as it is full, when rows wait while a forward of
// this model runs, or max-delay after the first row arrived at an idle model (0: at once, so a
// lone request never waits; under load the rows that arrive during a forward make the next
// batch). The scheduler, shared by the models of a process, starts due batches in turn.
import type { Tensor } from '../tensor.js';
import { concat, split } from '../tensor.js';
import { type ForwardQueue, ForwardScheduler } from './scheduler.js';

/**
 * Rows per forward unless told otherwise (serve --max-batch, predict). MobileNetV2's forward costs
 * least per image at 3–4 rows: 9.3 CPU-ms at 4 against 10.4 at 8 and 12.2 at 1, on two 1-thread
 * lanes at once (median of 5 rounds); predict on 300 photos took 3.5–3.85 s with 4, 3.95–4.1 with 8.
 */
export const DEFAULT_MAX_BATCH = 4;

export interface BatcherOptions {
  /** Rows per forward (already capped by the backend's own maxBatch). */
  maxBatch: number;
  /** How long a row may wait at an idle lane for others to join it. */
  maxDelayMs: number;
  /** Forwards at once (the backend's lanes). */
  lanes: number;
  /** CPUs one forward keeps busy (the backend's intra-op threads), for the scheduler's budget. */
  cost: number;
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

export class Batcher implements ForwardQueue {
  readonly #queue: Job[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Its rows have waited long enough: the timer fired, or they arrived while a forward ran. */
  #due = false;
  #running = 0;
  #idle: (() => void)[] = [];
  /**
   * Buffers batches are stacked into, one per running forward and reused: a new one per batch
   * (600 KB a row) was garbage the main thread collected. A forward holds its buffer until it ends.
   */
  readonly #buffers: Float32Array[] = [];

  /** `scheduler`: shared with the other models of the process; default one of its own. */
  constructor(
    private readonly forward: (batch: Tensor) => Promise<Tensor>,
    readonly options: BatcherOptions,
    private readonly observer?: BatchObserver,
    private readonly scheduler = new ForwardScheduler(),
  ) {
    scheduler.add(this);
  }

  get depth(): number {
    return this.#queue.length;
  }

  get cost(): number {
    return this.options.cost;
  }

  get lanes(): number {
    return this.options.lanes;
  }

  /** Queues rows [1, ...inputShape] and resolves each with its logits. */
  submit(rows: readonly Tensor[]): Promise<RowResult>[] {
    const results = rows.map(
      (row) => new Promise<RowResult>((resolve, reject) => this.#queue.push({ row, enqueued: performance.now(), resolve, reject })),
    );
    this.observer?.queueDepth(this.#queue.length);
    // A busy model's rows go with its next forward; an idle one's wait up to max-delay for company.
    if (this.#running > 0 || this.#queue.length >= this.options.maxBatch || this.options.maxDelayMs <= 0) this.#due = true;
    else this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#due = true;
      this.scheduler.poke();
    }, this.options.maxDelayMs);
    this.scheduler.poke();
    return results;
  }

  /** Resolves once every queued row has run; the batcher then leaves its scheduler. */
  async drain(): Promise<void> {
    if (this.#queue.length || this.#running) {
      this.#due = true;
      const idle = new Promise<void>((resolve) => this.#idle.push(resolve));
      this.scheduler.poke();
      await idle;
    }
    this.scheduler.remove(this);
  }

  ready(): boolean {
    return this.#queue.length > 0 && this.#running < this.options.lanes && (this.#due || this.#queue.length >= this.options.maxBatch);
  }

  async runNext(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const jobs = this.#queue.splice(0, this.options.maxBatch);
    this.observer?.queueDepth(this.#queue.length);
    this.#running++;
    try {
      await this.#run(jobs);
    } finally {
      this.#running--;
      // Rows that arrived during the forward have waited long enough: they go next.
      this.#due = this.#queue.length > 0;
      if (!this.#queue.length && !this.#running) for (const resolve of this.#idle.splice(0)) resolve();
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
