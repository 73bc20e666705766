// Runs in a worker thread: encoded image bytes in, the [3, 224, 224] input tensor out, written
// into the slot of shared memory the pool gave the request.
import { parentPort, workerData } from 'node:worker_threads';
import { ImageError, loadTensor } from '../image/index.js';
import { collectGarbage } from './collect-garbage.js';
import type { CollectRequest, DecodeReply, DecodeRequest, WorkerCollected, WorkerStart, WorkerWarm } from './decode-pool.js';

const port = parentPort;
if (!port) throw new Error('decode-worker must run in a worker thread');

// A first decode loads the decoder and compiles its code, which no photo's deadline should pay.
const { photo, options } = workerData as WorkerStart;
try {
  await loadTensor(photo, options);
  port.postMessage({ warm: true } satisfies WorkerWarm);
} catch (err) {
  port.postMessage({ warm: true, error: (err as Error).message } satisfies WorkerWarm);
}

const decode = async ({ id, bytes, options, slot }: DecodeRequest): Promise<void> => {
  const started = performance.now();
  const done = () => {
    // This thread's own heap and buffers (process.memoryUsage() counts per thread, but rss).
    const { heapTotal, external } = process.memoryUsage();
    return { id, seconds: (performance.now() - started) / 1000, retainedBytes: heapTotal + external };
  };
  try {
    await loadTensor(bytes, options, new Float32Array(slot));
    port.postMessage(done() satisfies DecodeReply);
  } catch (err) {
    const e = err as Error;
    const error = { message: e.message, code: err instanceof ImageError ? err.code : undefined };
    port.postMessage({ ...done(), error } satisfies DecodeReply);
  }
};

// The pool sends the next image only once this one is answered: the CPU split counts a worker as
// one core, and a queue inside a worker could not be given to another while it is stuck.
port.on('message', (request: DecodeRequest | CollectRequest) => {
  if (!('collect' in request)) return void decode(request);
  collectGarbage();
  port.postMessage({ collected: true } satisfies WorkerCollected);
});
