// One ONNX Runtime session in a worker thread. onnxruntime-node runs a session synchronously on
// the thread that calls run(), so on the main thread every forward would stall the event loop;
// here it stalls only this worker, and several workers are several forwards at once.
import { parentPort, workerData } from 'node:worker_threads';

export interface OnnxWorkerData {
  model: string;
  threads: number;
  optimize: boolean;
}

/**
 * A batch to run: its values are at the start of `input`, memory this worker shares with the
 * backend (a new one only when a larger batch needs more), so no request allocates a tensor.
 */
export interface OnnxRequest {
  id: number;
  input: SharedArrayBuffer;
  shape: number[];
}

export type OnnxReply =
  | { id: number; data: Float32Array; shape: number[]; error?: undefined }
  | { id: number; error: string };

/** Sent once, when the session is loaded (or failed to load). */
export type OnnxReady = { ready: true; version: string } | { ready: false; error: string };

const port = parentPort;
if (!port) throw new Error('onnx-worker must run in a worker thread');

const { model, threads, optimize } = workerData as OnnxWorkerData;
const firstLine = (err: unknown) => (err as Error).message.split('\n')[0];
try {
  const ort = await import('onnxruntime-node').catch((err: NodeJS.ErrnoException) => {
    // An optional peer dependency: installs that never run --backend onnx carry neither its
    // ~290 MB of binaries nor its install-time CUDA download.
    if (err.code === 'ERR_MODULE_NOT_FOUND' && /'onnxruntime-node'/.test(err.message)) {
      throw new Error(
        '--backend onnx needs onnxruntime-node, an optional peer dependency of pytorch-infer: ' +
          '`npm install onnxruntime-node@^1.30` (`npm pkg set allowScripts.onnxruntime-node=false --json` first skips its CUDA download)',
      );
    }
    throw new Error(`cannot load onnxruntime-node for --backend onnx: ${firstLine(err)}`);
  });
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: optimize ? 'all' : 'disabled',
    executionProviders: ['cpu'],
    // Threads that spin between forwards burn a core each (2 threads: 19.5 CPU ms an image,
    // against 8.5 for two one-thread sessions, bench/results/libtorch-options.md); wait instead.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  }).catch((err) => {
    throw new Error(`cannot load ONNX model '${model}': ${firstLine(err)}`);
  });
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  // onnxruntime-node refuses shared memory, so the batch is copied into a buffer of this
  // worker's, kept for the next batch of the same size (run() is synchronous: it is free again).
  let own = new Float32Array(0);
  port.on('message', async ({ id, input, shape }: OnnxRequest) => {
    try {
      const length = shape.reduce((a, b) => a * b, 1);
      if (own.length !== length) own = new Float32Array(length);
      own.set(new Float32Array(input, 0, length));
      const output = (await session.run({ [inputName]: new ort.Tensor('float32', own, shape) }))[outputName];
      const logits = output.data as Float32Array;
      port.postMessage({ id, data: logits, shape: output.dims.map(Number) } satisfies OnnxReply, [logits.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id, error: (err as Error).message } satisfies OnnxReply);
    }
  });
  port.postMessage({ ready: true, version: ort.env.versions.common } satisfies OnnxReady);
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message } satisfies OnnxReady);
}
