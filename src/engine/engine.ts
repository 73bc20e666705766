// The inference engine behind the service's routes and `predict`: admission control, decoding in
// the worker pool, and dynamic batching into the backend. Callers only translate to and from it.
import type { Classifier } from '../classifier.js';
import type { Tensor } from '../tensor.js';
import { type BatchObserver, Batcher, type RowResult } from './batcher.js';
import type { DecodedImage, DecodePool } from './decode-pool.js';
import type { ForwardScheduler } from './scheduler.js';

export interface EngineOptions {
  /** Rows per forward; the backend's own maxBatch caps it. 1 turns batching off. */
  maxBatch: number;
  maxDelayMs: number;
  /** Images accepted and not yet answered (decoding or waiting), beyond which requests get 503. */
  maxQueue: number;
  /** A request not answered by then gets 503; its rows still run (they cannot be recalled from a batch). None: no limit. */
  timeoutMs?: number;
  /** Shared by the engines of one process, so their models take turns on the CPUs; default one of its own. */
  scheduler?: ForwardScheduler;
}

/** Told what the engine does (the service's metrics); `predict` watches nothing. */
export interface EngineObserver extends BatchObserver {
  /** One image's decode time in a worker, failed decodes included. */
  decoded(seconds: number): void;
}

/** Where one request's time went, in milliseconds. For several images: the slowest of each. */
export interface Timings {
  decode_ms: number;
  queue_ms: number;
  inference_ms: number;
  batch_size: number;
}

export interface EngineResult {
  /** One logits row per image, in request order. */
  logits: Float32Array[];
  timings: Timings;
}

/** Too much work in hand, it took too long, or shutting down: the client should retry later (503). */
export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';
}

/** More images in one request than the queue holds: it could never be accepted (413). */
export class TooManyImagesError extends Error {
  override readonly name = 'TooManyImagesError';
}

export class Engine {
  readonly #pool: DecodePool;
  readonly #batcher: Batcher;
  #inFlight = 0;
  #closing = false;
  /** Resolved when the last accepted request is done, once closing. */
  #settled: (() => void) | undefined;

  /**
   * `pool`: workers of the classifier's decoder, started before it loaded (they warm up meanwhile);
   * the engine owns it from now on and closes it.
   */
  constructor(
    readonly classifier: Classifier,
    pool: DecodePool,
    readonly options: EngineOptions,
    private readonly observer?: EngineObserver,
  ) {
    const { backend } = classifier;
    if (pool.options.decoder !== classifier.decoder) {
      throw new Error(`the decode pool runs ${pool.options.decoder} but the classifier decodes with ${classifier.decoder}`);
    }
    this.#pool = pool;
    this.#batcher = new Batcher((batch) => backend.forward(batch), {
      maxBatch: Math.min(options.maxBatch, backend.maxBatch),
      maxDelayMs: options.maxDelayMs,
      lanes: backend.lanes,
      cost: backend.threads,
    }, observer, options.scheduler);
  }

  /**
   * Runs every batch size up to maxBatch twice while the decode workers finish warming up:
   * LibTorch's profiling executor specialises and compiles a graph for each input shape on its
   * first two forwards (180–650 ms each, bench/results/libtorch-options.md), which no request
   * should pay.
   */
  async warmUp(): Promise<void> {
    const { backend } = this.classifier;
    const shapes = async () => {
      for (let n = 1; n <= this.#batcher.options.maxBatch; n++) {
        const shape = [n, ...backend.inputShape];
        const batch = { data: new Float32Array(shape.reduce((a, b) => a * b)), shape };
        for (let run = 0; run < 2; run++) await Promise.all(Array.from({ length: backend.lanes }, () => backend.forward(batch)));
      }
    };
    // Both settle before a failure is thrown, so nothing runs on once the caller closes the engine.
    for (const step of await Promise.allSettled([this.#pool.ready(), shapes()])) if (step.status === 'rejected') throw step.reason;
  }

  /** Encoded images → logits, one row each. Rejects with ImageError if any image is bad. */
  classify(images: readonly Uint8Array[]): Promise<EngineResult> {
    return this.#admit(images.length, async () => {
      const started = performance.now();
      // Every decode settles before a bad image fails the request, so the request's queue
      // slots are released only once the pool no longer works on any of its images.
      const owner = {}; // this request's images take turns with other requests' in the pool
      const decoded = await Promise.allSettled(images.map((bytes) => this.#decode(bytes, owner)));
      try {
        const rows = decoded.map((d) => {
          if (d.status === 'rejected') throw d.reason;
          return { data: d.value.data, shape: [1, ...this.classifier.backend.inputShape] };
        });
        return await this.#infer(rows, performance.now() - started);
      } finally {
        // The forward has copied the rows: the slots take the next photos.
        for (const d of decoded) if (d.status === 'fulfilled') d.value.release();
      }
    });
  }

  /** Preprocessed rows [1, 3, H, W] → logits. */
  forward(rows: readonly Tensor[]): Promise<EngineResult> {
    return this.#admit(rows.length, () => this.#infer(rows, 0));
  }

  /** Refuses new work, finishes all accepted work (decoding included), then stops the workers and the backend. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#settled = resolve));
    await this.#batcher.drain();
    await this.#pool.close();
    await this.classifier.close();
  }

  #decode(bytes: Uint8Array, owner: object): Promise<DecodedImage> {
    const { observer } = this;
    return this.#pool.decode(bytes, this.classifier.loading, { owner, observe: observer && ((seconds) => observer.decoded(seconds)) });
  }

  async #infer(rows: readonly Tensor[], decodeMs: number): Promise<EngineResult> {
    const results: RowResult[] = await Promise.all(this.#batcher.submit(rows));
    return {
      logits: results.map((r) => r.logits.data),
      timings: {
        decode_ms: round(decodeMs),
        queue_ms: round(Math.max(...results.map((r) => r.queueMs))),
        inference_ms: round(Math.max(...results.map((r) => r.inferenceMs))),
        batch_size: Math.max(...results.map((r) => r.batchSize)),
      },
    };
  }

  async #admit<T>(images: number, work: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new OverloadedError(`model ${this.classifier.model.name} is closing: not taking new requests`);
    if (images > this.options.maxQueue) {
      throw new TooManyImagesError(`${images} images in one request; at most ${this.options.maxQueue} (--max-queue)`);
    }
    if (this.#inFlight + images > this.options.maxQueue) {
      throw new OverloadedError(`too busy: ${this.#inFlight} images in hand, limit ${this.options.maxQueue}`);
    }
    this.#inFlight += images;
    const done = work().finally(() => {
      this.#inFlight -= images;
      if (this.#inFlight === 0) this.#settled?.();
    });
    const { timeoutMs } = this.options;
    if (timeoutMs === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OverloadedError(`not answered within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
      done.catch(() => {}); // a late failure after the timeout is already answered
    }
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
