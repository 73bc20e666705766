// A fixed pool of worker threads that decode and preprocess images, so the event loop
// only moves bytes: a 20 ms JPEG decode on the main thread would stall every connection.
import type { Worker } from 'node:worker_threads';
import { ImageError, type ImageErrorCode, type LoadOptions } from '../image/index.js';
import { DEFAULT_PREPROCESSING } from '../model/config.js';
import { startWorker } from '../worker.js';

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  options: LoadOptions;
  /** Where the worker writes the tensor. */
  slot: SharedArrayBuffer;
}

/** seconds: the worker's own decode time, without the wait for the worker. */
export type DecodeReply =
  | { id: number; seconds: number; error?: undefined }
  | { id: number; seconds: number; error: { message: string; code?: ImageErrorCode } };

/** A decoded image in a slot of the pool's shared memory; release() gives the slot back. */
export interface DecodedImage {
  readonly data: Float32Array;
  release(): void;
}

/** Told each decode's time, failed ones included: they cost the worker too. */
export type DecodeObserver = (seconds: number) => void;

interface Pending {
  slot: SharedArrayBuffer;
  resolve(image: DecodedImage): void;
  reject(err: Error): void;
  observe?: DecodeObserver;
}

export class DecodePool {
  readonly #workers: Worker[] = [];
  /** Requests sent to each worker and not yet answered; a new one goes to the least busy. */
  readonly #load: number[] = [];
  readonly #pending = new Map<number, Pending & { worker: number }>();
  /**
   * Tensors travel in slots of shared memory, reused: a new 600 KB buffer per photo, transferred
   * to the main thread, kept its garbage collector busy. As many slots as images ever decoded
   * at once (the engine's queue bounds it).
   */
  readonly #freeSlots: SharedArrayBuffer[] = [];
  /** One [3, H, W] float32 tensor of the model's input size. */
  readonly #slotBytes: number;
  #nextId = 0;
  #closed = false;

  constructor(
    readonly size: number,
    private readonly options: LoadOptions,
  ) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`decode pool size must be a positive integer, got ${size}`);
    const [height, width] = (options.preprocessing ?? DEFAULT_PREPROCESSING).inputSize;
    this.#slotBytes = 3 * height * width * 4;
    for (let i = 0; i < size; i++) this.#spawn(i);
  }

  /** Bytes → [3, H, W] float32 in a slot to release when done; rejects with ImageError for bad images. */
  decode(bytes: Uint8Array, observe?: DecodeObserver): Promise<DecodedImage> {
    if (this.#closed) return Promise.reject(new Error('the decode pool is closed'));
    const worker = this.#load.indexOf(Math.min(...this.#load));
    const id = this.#nextId++;
    const slot = this.#freeSlots.pop() ?? new SharedArrayBuffer(this.#slotBytes);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { slot, resolve, reject, observe, worker });
      this.#load[worker]++;
      this.#workers[worker].postMessage({ id, bytes, options: this.options, slot } satisfies DecodeRequest);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #spawn(index: number): void {
    const worker = startWorker(import.meta.url, 'decode-worker');
    worker.unref();
    worker.on('message', (reply: DecodeReply) => this.#settle(reply));
    // A crashed worker fails only its own requests and is replaced.
    worker.on('error', (err) => this.#failWorker(index, err));
    worker.on('exit', (code) => {
      if (!this.#closed) {
        this.#failWorker(index, new Error(`decode worker exited with code ${code}`));
        this.#spawn(index);
      }
    });
    this.#workers[index] = worker;
    this.#load[index] = 0;
  }

  #settle(reply: DecodeReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    this.#load[pending.worker]--;
    pending.observe?.(reply.seconds);
    const { slot } = pending;
    if (reply.error === undefined) {
      pending.resolve({ data: new Float32Array(slot), release: () => this.#freeSlots.push(slot) });
      return;
    }
    this.#freeSlots.push(slot);
    if (reply.error.code) pending.reject(new ImageError(reply.error.code, reply.error.message));
    else pending.reject(new Error(reply.error.message));
  }

  #failWorker(index: number, err: Error): void {
    for (const [id, pending] of this.#pending) {
      if (pending.worker !== index) continue;
      this.#pending.delete(id);
      this.#freeSlots.push(pending.slot);
      pending.reject(err);
    }
    this.#load[index] = 0;
  }
}
