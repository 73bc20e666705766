// ONNX Runtime backend: the same model exported to ONNX, run by onnxruntime-node in worker
// threads (src/backends/onnx-worker.ts), one session per lane.
import { access } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { type Backend, type BackendOptions, checkInput, forwardInParts, probe } from '../backend.js';
import { availableCpus } from '../cpus.js';
import { DEFAULT_CONFIG, inputShape, type ModelConfig } from '../model/config.js';
import { packagePath } from '../paths.js';
import type { Tensor } from '../tensor.js';
import { startWorker } from '../worker.js';
import type { OnnxReady, OnnxReply, OnnxRequest, OnnxWorkerData } from './onnx-worker.js';

export const DEFAULT_ONNX_MODEL = packagePath('model', 'mobilenet_v2.onnx');

/** A worker and its session, running one batch at a time; the others wait in `queue`. */
interface Lane {
  worker: Worker;
  /** Shared with the worker: the running batch's values. */
  input: SharedArrayBuffer;
  running: Pending | undefined;
  queue: Pending[];
  exited: boolean;
}

interface Pending {
  id: number;
  input: Tensor;
  resolve(output: Tensor): void;
  reject(err: Error): void;
}

export class OnnxBackend implements Backend {
  readonly name = 'onnx' as const;
  readonly inputShape: readonly [3, number, number];
  readonly maxBatch: number;
  readonly #lanes: Lane[];
  #classes = 0; // measured by the warm-up
  #nextId = 0;
  #closed = false;

  private constructor(
    lanes: Lane[],
    readonly runtime: string,
    readonly model: string,
    readonly threads: number,
    readonly optimize: boolean,
    /** ONNX files carry no config of ours: a folder's config.json, else the defaults. */
    readonly config: ModelConfig,
  ) {
    this.#lanes = lanes;
    this.inputShape = inputShape(config);
    this.maxBatch = config.maxBatch ?? Infinity;
    for (const lane of lanes) {
      lane.worker.on('message', (reply: OnnxReply) => this.#settle(lane, reply));
      lane.worker.on('error', (err) => this.#failLane(lane, err));
      lane.worker.on('exit', (code) => this.#failLane(lane, new Error(`the ONNX Runtime worker exited with code ${code}`)));
    }
  }

  static async load(options: BackendOptions = {}): Promise<OnnxBackend> {
    const model = options.model ?? DEFAULT_ONNX_MODEL;
    const optimize = options.optimize ?? true;
    const threads = options.threads ?? availableCpus();
    const count = options.lanes ?? 1;
    await access(model).catch(() => {
      throw new Error(`model file not found: ${model}`);
    });
    // onnxruntime-node's library carries telemetry (files in ~/.cache and DNS queries) unless
    // this is in the process environment before it loads; a photo service sends nothing.
    process.env.ORT_DISABLE_TELEMETRY ??= '1';
    const workerData: OnnxWorkerData = { model, threads, optimize };
    const started = Array.from({ length: count }, () => startWorker(import.meta.url, 'onnx-worker', { workerData }));
    const ready = await Promise.all(started.map((worker) => readiness(worker)));
    const failed = ready.find((r) => !r.ready);
    if (failed && !failed.ready) {
      await Promise.all(started.map((w) => w.terminate()));
      throw new Error(failed.error);
    }
    const runtime = `ONNX Runtime ${(ready[0] as { version: string }).version}`;
    const lanes: Lane[] = started.map((worker) => ({ worker, input: new SharedArrayBuffer(0), running: undefined, queue: [], exited: false }));
    const backend = new OnnxBackend(lanes, runtime, model, threads, optimize, options.config ?? DEFAULT_CONFIG);
    // Warm-up: the first run of a session allocates its arena and plans its kernels.
    const forward = (input: Tensor) => backend.forward(input);
    try {
      [backend.#classes] = await Promise.all(started.map(() => probe(model, backend.inputShape, 1, forward)));
    } catch (err) {
      await backend.close();
      throw err;
    }
    return backend;
  }

  get classes(): number {
    return this.#classes;
  }

  get lanes(): number {
    return this.#lanes.length;
  }

  async forward(input: Tensor): Promise<Tensor> {
    checkInput(input, this.inputShape);
    if (this.#closed) throw new Error('the onnx backend is closed');
    return forwardInParts(input, this.maxBatch, (part) => this.#run(part));
  }

  #run(input: Tensor): Promise<Tensor> {
    const open = this.#lanes.filter((lane) => !lane.exited);
    if (open.length === 0) throw new Error('the ONNX Runtime workers have exited');
    const lane = open.reduce((a, b) => (load(b) < load(a) ? b : a));
    return new Promise((resolve, reject) => {
      lane.queue.push({ id: this.#nextId++, input, resolve, reject });
      if (!lane.running) this.#next(lane);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#lanes.map((lane) => lane.worker.terminate()));
  }

  /** Copies the lane's next batch into its shared memory (no allocation) and starts it. */
  #next(lane: Lane): void {
    const pending = lane.queue.shift();
    lane.running = pending;
    if (!pending) return;
    const { data, shape } = pending.input;
    if (lane.input.byteLength < data.byteLength) lane.input = new SharedArrayBuffer(data.byteLength);
    new Float32Array(lane.input, 0, data.length).set(data);
    lane.worker.postMessage({ id: pending.id, input: lane.input, shape: [...shape] } satisfies OnnxRequest);
  }

  #settle(lane: Lane, reply: OnnxReply): void {
    const pending = lane.running;
    if (!pending || pending.id !== reply.id) return;
    this.#next(lane);
    if (reply.error === undefined) pending.resolve({ data: reply.data, shape: reply.shape });
    else pending.reject(new Error(`ONNX Runtime forward failed: ${reply.error}`));
  }

  #failLane(lane: Lane, err: Error): void {
    lane.exited = true;
    if (this.#closed) return;
    for (const pending of [lane.running, ...lane.queue]) pending?.reject(err);
    lane.running = undefined;
    lane.queue = [];
  }
}

/** Batches a lane has in hand. */
const load = (lane: Lane) => lane.queue.length + (lane.running ? 1 : 0);

function readiness(worker: Worker): Promise<OnnxReady> {
  return new Promise((resolve) => {
    worker.once('message', (message: OnnxReady) => resolve(message));
    worker.once('error', (err) => resolve({ ready: false, error: err.message }));
  });
}
