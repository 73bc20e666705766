// A fixed pool of worker threads that decode and preprocess images, so the event loop
// only moves bytes: a 20 ms JPEG decode on the main thread would stall every connection.
// One slow photo must not starve the others: each worker decodes one image at a time, taken
// from a queue that turns between requests, and a decode past its deadline ends its worker.
import { readFileSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { ImageError, type ImageErrorCode, type LoadOptions } from '../image/index.js';
import { libjpeg } from '../image/libjpeg.js';
import type { DecoderName } from '../image/types.js';
import { DEFAULT_PREPROCESSING } from '../model/config.js';
import { packagePath } from '../paths.js';
import { startWorker } from '../worker.js';
import { collectGarbage } from './collect-garbage.js';

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  options: LoadOptions;
  /** Where the worker writes the tensor. */
  slot: SharedArrayBuffer;
}

/**
 * seconds: the worker's own decode time, without the wait for the worker; retainedBytes: the
 * worker's heap and buffers after it.
 */
export type DecodeReply = { id: number; seconds: number; retainedBytes: number } & (
  | { error?: undefined }
  | { error: { message: string; code?: ImageErrorCode } }
);

/** What a worker starts with: a photo to decode once before it takes any (its warm-up). */
export interface WorkerStart {
  photo: Uint8Array;
  options: LoadOptions;
}

/** A worker's first message: warmed up, or the error its warm-up decode failed with. */
export interface WorkerWarm {
  warm: true;
  error?: string;
}

/** Asks an idle worker to collect its garbage; it answers WorkerCollected. */
export interface CollectRequest {
  collect: true;
}

export interface WorkerCollected {
  collected: true;
}

/** A decoded image in a slot of the pool's shared memory; release() gives the slot back. */
export interface DecodedImage {
  readonly data: Float32Array;
  release(): void;
}

/** Told each decode's time, failed ones included: they cost the worker too. */
export type DecodeObserver = (seconds: number) => void;

/** A decode worker stopped for a reason of its own, not the image's: the client may retry (503). */
export class DecodeWorkerError extends Error {
  override readonly name = 'DecodeWorkerError';
}

export interface DecodePoolOptions {
  size: number;
  /** A decode running longer ends its worker (a new one takes its place) and fails with DECODE_TOO_COSTLY. */
  deadlineMs: number;
  /** The decoder each worker loads and warms up on a bundled photo before it takes any. */
  decoder: DecoderName;
}

/** A decode taking longer than this is a runaway: a 16 MP JPEG takes jimp ~1 s on an idle core. */
export const DEFAULT_DECODE_DEADLINE_MS = 10_000;

/**
 * JavaScript heap per worker. jimp's decoders keep pixels in Buffers (outside the heap, bounded by
 * the pixel limit), but a corrupt TIFF can make utif2 build arrays of billions of tag values: the
 * worker then dies of this limit, not the process of its memory.
 */
const WORKER_HEAP_MB = 256;

/**
 * A worker holding more memory than this after a decode is replaced: an idle worker does not
 * collect its garbage, so the buffers of a 16 MP decode (~1 GB for jimp) would stay in the
 * process's RSS until that worker happened to decode again.
 */
const RETIRE_BYTES = 128 * 2 ** 20;

/**
 * Once no photo has been decoded for this long, the workers and the pool's own thread collect
 * their garbage and glibc's heap is trimmed (native/heap_trim.cc), so an idle service's RSS comes
 * back down. Under load nothing is collected or trimmed: the memory would be taken again at once.
 */
export const IDLE_RECLAIM_MS = 1_000;

/** What each worker decodes once before it takes photos, the ones that replace others too. */
const WARM_UP_PHOTO = packagePath('samples', 'n01530575_brambling.JPEG');

interface Job {
  id: number;
  bytes: Uint8Array;
  loading: LoadOptions;
  slot: SharedArrayBuffer;
  resolve(image: DecodedImage): void;
  reject(err: Error): void;
  observe?: DecodeObserver;
}

interface Lane {
  worker: Worker;
  /** Takes photos once it has warmed up. */
  warm: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
  /** Set when the pool ends this worker: with the error its job fails with, if it has one. */
  ending?: { error?: ImageError };
  /** Set while the worker collects its garbage: called when it has (or has ended). */
  collected?: () => void;
}

export class DecodePool {
  readonly #lanes: Lane[] = [];
  /**
   * Waiting jobs, by the request (owner) they belong to; a free worker takes the next job of the
   * first owner, which then goes to the back: a request of 100 photos does not hold up one of 1.
   */
  readonly #waiting = new Map<object, Job[]>();
  /**
   * Tensors travel in slots of shared memory, reused: a new 600 KB buffer per photo, transferred
   * to the main thread, kept its garbage collector busy. As many slots as images ever decoded
   * at once (the engine's queue bounds it).
   */
  readonly #freeSlots: SharedArrayBuffer[] = [];
  #nextId = 0;
  #closed = false;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Settles once the first workers have warmed up (rejects if one could not decode). */
  readonly #ready: Promise<void>;
  #warmed!: (error?: string) => void;

  /**
   * Starts the workers at once: they need only the decoder, so they can warm up (~0.25 s for two)
   * while the model loads.
   */
  constructor(readonly options: DecodePoolOptions) {
    const { size, deadlineMs } = options;
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`decode pool size must be a positive integer, got ${size}`);
    if (!(Number.isInteger(deadlineMs) && deadlineMs >= 1)) throw new RangeError(`decode deadline must be a positive integer of ms, got ${deadlineMs}`);
    let pending = size;
    this.#ready = new Promise((resolve, reject) => {
      this.#warmed = (error) => (error !== undefined ? reject(new Error(error)) : --pending === 0 && resolve());
    });
    this.#ready.catch(() => {}); // reported by ready()
    for (let i = 0; i < size; i++) this.#lanes.push(this.#spawn(true));
  }

  /** Resolves once every worker has decoded its warm-up photo; rejects with the error if one failed. */
  ready(): Promise<void> {
    return this.#ready;
  }

  get size(): number {
    return this.#lanes.length;
  }

  /**
   * Bytes → [3, H, W] float32 (the pool's decoder, the rest of `loading` as given) in a slot to
   * release when done; rejects with ImageError for bad images. `owner` groups the images of one
   * request for the turn-taking (default: its own).
   */
  decode(bytes: Uint8Array, loading: Omit<LoadOptions, 'decoder'>, { owner = {}, observe }: { owner?: object; observe?: DecodeObserver } = {}): Promise<DecodedImage> {
    if (this.#closed) return Promise.reject(new Error('the decode pool is closed'));
    clearTimeout(this.#idleTimer);
    return new Promise((resolve, reject) => {
      const job = { id: this.#nextId++, bytes, loading: { ...loading, decoder: this.options.decoder }, slot: this.#slot(loading), resolve, reject, observe };
      const jobs = this.#waiting.get(owner);
      if (jobs) jobs.push(job);
      else this.#waiting.set(owner, [job]);
      this.#dispatch();
    });
  }

  /** A free slot for one [3, H, W] float32 tensor of this input size, or a new one. */
  #slot({ preprocessing = DEFAULT_PREPROCESSING }: Omit<LoadOptions, 'decoder'>): SharedArrayBuffer {
    const [height, width] = preprocessing.inputSize;
    const bytes = 3 * height * width * 4;
    const free = this.#freeSlots.findIndex((slot) => slot.byteLength === bytes);
    return free >= 0 ? this.#freeSlots.splice(free, 1)[0] : new SharedArrayBuffer(bytes);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    const closed = new Error('the decode pool is closed');
    for (const jobs of this.#waiting.values()) for (const job of jobs) job.reject(closed);
    this.#waiting.clear();
    for (const lane of this.#lanes) {
      clearTimeout(lane.timer);
      lane.job?.reject(closed);
    }
    await Promise.all(this.#lanes.map((lane) => lane.worker.terminate()));
  }

  #spawn(first = false): Lane {
    // stdout: true keeps the decoders' chatter ("Warning, gif stream shorter than expected", from
    // omggif) out of this process's stdout, where predict writes its results; it is dropped.
    const workerData: WorkerStart = { photo: readFileSync(WARM_UP_PHOTO), options: { decoder: this.options.decoder } };
    const worker = startWorker(import.meta.url, 'decode-worker', { workerData, stdout: true, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker.stdout.resume();
    const lane: Lane = { worker, warm: false };
    worker.unref();
    worker.on('message', (message: DecodeReply | WorkerWarm | WorkerCollected) => {
      if ('collected' in message) return this.#collected(lane);
      if (!('warm' in message)) return this.#settle(lane, message);
      lane.warm = true;
      if (first) this.#warmed(message.error);
      this.#dispatch();
    });
    // An error event is followed by exit; the exit fails the job and replaces the worker.
    let failure: Error | undefined;
    worker.on('error', (err) => (failure = err));
    worker.on('exit', (code) => {
      if (this.#closed) return;
      clearTimeout(lane.timer);
      this.#collected(lane);
      const job = lane.job;
      if (job) this.#fail(job, lane.ending?.error ?? workerDied(code, failure));
      this.#lanes[this.#lanes.indexOf(lane)] = this.#spawn();
      this.#dispatch();
      this.#reclaimWhenIdle(); // the ended worker's memory too
    });
    return lane;
  }

  /** Gives waiting jobs to idle workers, turn by turn between owners. */
  #dispatch(): void {
    for (const lane of this.#lanes) {
      if (lane.job || lane.ending || !lane.warm) continue;
      const next = this.#waiting.entries().next();
      if (next.done) return;
      const [owner, jobs] = next.value;
      const job = jobs.shift()!;
      this.#waiting.delete(owner);
      if (jobs.length) this.#waiting.set(owner, jobs); // to the back of the turn
      lane.job = job;
      lane.timer = setTimeout(() => this.#end(lane), this.options.deadlineMs);
      lane.worker.postMessage({ id: job.id, bytes: job.bytes, options: job.loading, slot: job.slot } satisfies DecodeRequest);
    }
  }

  /** Stops a runaway decode: terminating is the only way to interrupt a synchronous decoder. */
  #end(lane: Lane): void {
    const { deadlineMs } = this.options;
    const message = `Decoding this image took longer than ${deadlineMs} ms (the decode deadline, --decode-timeout-ms): it costs more than the image is worth`;
    lane.ending = { error: new ImageError('DECODE_TOO_COSTLY', message) };
    lane.job?.observe?.(deadlineMs / 1000);
    void lane.worker.terminate();
  }

  #settle(lane: Lane, reply: DecodeReply): void {
    const job = lane.job;
    if (!job || job.id !== reply.id || lane.ending) return;
    clearTimeout(lane.timer);
    lane.job = undefined;
    if (reply.retainedBytes > RETIRE_BYTES) {
      lane.ending = {};
      void lane.worker.terminate();
    }
    job.observe?.(reply.seconds);
    const { slot } = job;
    if (reply.error === undefined) {
      job.resolve({ data: new Float32Array(slot), release: () => this.#freeSlots.push(slot) });
    } else if (reply.error.code) {
      this.#fail(job, new ImageError(reply.error.code, reply.error.message));
    } else {
      this.#fail(job, new Error(reply.error.message));
    }
    this.#dispatch();
    this.#reclaimWhenIdle();
  }

  /** (Re)starts the idle countdown; a decode() stops it. */
  #reclaimWhenIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#closed || this.#busy()) return;
    this.#idleTimer = setTimeout(() => void this.#reclaim(), IDLE_RECLAIM_MS).unref();
  }

  #busy(): boolean {
    return this.#waiting.size > 0 || this.#lanes.some((lane) => lane.job);
  }

  /**
   * Every idle worker collects its garbage, and this thread (the photos' bytes arrived here), then
   * the heap they freed it into is trimmed.
   */
  async #reclaim(): Promise<void> {
    const idle = this.#lanes.filter((lane) => lane.warm && !lane.ending && !lane.collected);
    const collected = Promise.all(idle.map((lane) => new Promise<void>((resolve) => {
      lane.collected = resolve;
      lane.worker.postMessage({ collect: true } satisfies CollectRequest);
    })));
    collectGarbage();
    await collected;
    if (!this.#closed && !this.#busy()) await libjpeg()?.trimHeap();
  }

  #collected(lane: Lane): void {
    lane.collected?.();
    lane.collected = undefined;
  }

  #fail(job: Job, err: Error): void {
    this.#freeSlots.push(job.slot);
    job.reject(err);
  }
}

/** A worker that exits on its own: out of heap is the image's doing (422), anything else the server's (503). */
function workerDied(code: number, failure: Error | undefined): Error {
  if ((failure as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ImageError('DECODE_TOO_COSTLY', `Decoding this image needed more than the decoder's ${WORKER_HEAP_MB} MB heap limit`);
  }
  const reason = failure ? `: ${failure.message}` : '';
  return new DecodeWorkerError(`the decode worker stopped (exit code ${code}${reason}) while decoding this image; a new one has started, retry`);
}
