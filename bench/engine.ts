// Engine benchmark (issue 2): ms/img at batch 1 and 8 for the LibTorch addon with and without graph
// optimisation (and ONNX Runtime beside it), and decode+preprocess ms/img per decoder, measured
// side by side in one run.   node --import tsx bench/engine.ts [iterations]
import { readFileSync } from 'node:fs';
import { createBackend, type Backend, type BackendName } from '../src/backend.js';
import { loadTensor } from '../src/image/index.js';
import { photos, SAMPLES_DIR } from '../test/helpers.js';

const iterations = Number(process.argv[2] ?? 40);
const threads = 2;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function timeForward(backend: Backend, batch: number): Promise<number[]> {
  const input = { data: new Float32Array(batch * 3 * 224 * 224).map(() => Math.random()), shape: [batch, 3, 224, 224] };
  for (let i = 0; i < 3; i++) await backend.forward(input);
  const perImage = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await backend.forward(input);
    perImage.push((performance.now() - t) / batch);
  }
  return perImage;
}

const rows: Record<string, string | number>[] = [];
const configs: [string, BackendName, boolean][] = [
  ['LibTorch, optimised', 'torchscript', true],
  ['LibTorch, plain TorchScript', 'torchscript', false],
  ['ONNX Runtime', 'onnx', true],
];
for (const [name, backendName, optimize] of configs) {
  const backend = await createBackend(backendName, { optimize, threads });
  for (const batch of [1, 8]) {
    const ms = await timeForward(backend, batch);
    rows.push({ engine: name, batch, threads, 'ms/img (median)': +median(ms).toFixed(2), 'ms/img (p90)': +p90(ms).toFixed(2) });
  }
  await backend.close();
}
console.log(`Inference, ${iterations} forwards per row, random input`);
console.table(rows);

const files = photos(SAMPLES_DIR).map((f) => readFileSync(f));
const decodeRows = [];
for (const decoder of ['jimp', 'sharp'] as const) {
  const ms = [];
  for (let i = 0; i < Math.max(5, iterations / 2); i++) {
    for (const bytes of files) {
      const t = performance.now();
      await loadTensor(bytes, { decoder, maxPixels: 40_000_000 });
      ms.push(performance.now() - t);
    }
  }
  decodeRows.push({ decoder, 'decode+preprocess ms/img (median)': +median(ms).toFixed(2), 'ms/img (p90)': +p90(ms).toFixed(2) });
}
console.log(`Decode + preprocess of the ${files.length} bundled photos (bench/preprocess.ts: per photo, vs PIL)`);
console.table(decodeRows);
