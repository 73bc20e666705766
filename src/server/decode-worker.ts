// Runs in a worker thread: encoded image bytes in, the [3, 224, 224] input tensor out.
import { parentPort } from 'node:worker_threads';
import { ImageError, loadTensor } from '../image/index.js';
import type { DecodeReply, DecodeRequest } from './decode-pool.js';

const port = parentPort;
if (!port) throw new Error('decode-worker must run in a worker thread');

port.on('message', async ({ id, bytes, options }: DecodeRequest) => {
  try {
    const data = await loadTensor(bytes, options);
    // Transfer, not copy: the 600 KB tensor changes threads for free.
    port.postMessage({ id, data } satisfies DecodeReply, [data.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err as Error;
    const error = { message: e.message, code: err instanceof ImageError ? err.code : undefined };
    port.postMessage({ id, error } satisfies DecodeReply);
  }
});
