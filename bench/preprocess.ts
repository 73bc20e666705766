/*
 * Decode + preprocess time per photo for each decoder, and the distance from PIL's tensors.
 *   node --import tsx bench/preprocess.ts [photoDir] [referenceTensorDir]
 * Defaults to the test fixtures: 100 ImageNet photos, reference tensors for some of them.
 * Phone-size photos: bench/preprocess.ts test/fixtures/large test/fixtures/large (PIL draft tensors).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { getDecoder, preprocess, RESIZE_SIZE, type DecoderName } from '../src/image/index.js';
import { distance, readTensor } from '../test/image-fixtures.js';

const fixtures = new URL('../test/fixtures/', import.meta.url).pathname;
const photoDir = process.argv[2] ?? join(fixtures, 'imagenet-sample-100');
const referenceDir = process.argv[3] ?? join(fixtures, 'reference', 'tensors');
// As loadTensor decodes: at PIL's draft() scale unless exact.
const DECODERS: { name: DecoderName; exact: boolean }[] = [
  { name: 'jimp', exact: false },
  { name: 'sharp', exact: false },
  { name: 'sharp', exact: true },
];
const WARMUP = 5;

const photos = readdirSync(photoDir)
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort()
  .map((f) => ({ stem: basename(f, extname(f)), bytes: new Uint8Array(readFileSync(join(photoDir, f))) }));
if (photos.length === 0) throw new Error(`no photos in ${photoDir}`);

const rows = [];
for (const { name, exact } of DECODERS) {
  const decoder = getDecoder(name);
  const limits = { maxPixels: 40_000_000, draft: exact ? undefined : { width: RESIZE_SIZE, height: RESIZE_SIZE } };
  for (const { bytes } of photos.slice(0, WARMUP)) preprocess(await decoder.decode(bytes, limits));

  const decodeMs: number[] = [];
  const preprocessMs: number[] = [];
  const totalMs: number[] = [];
  const deltas: { mean: number; max: number }[] = [];
  for (const { stem, bytes } of photos) {
    const t0 = performance.now();
    const image = await decoder.decode(bytes, limits);
    const t1 = performance.now();
    const tensor = preprocess(image);
    const t2 = performance.now();
    decodeMs.push(t1 - t0);
    preprocessMs.push(t2 - t1);
    totalMs.push(t2 - t0);
    const reference = [`${stem}.f32`, `${stem}.draft.f32`].map((f) => join(referenceDir, f)).find(existsSync);
    if (reference) deltas.push(distance(tensor, readTensor(reference)));
  }
  rows.push({
    decoder: exact ? `${name} --exact-decode` : name,
    'decode ms (median)': round(quantile(decodeMs, 0.5)),
    'preprocess ms (median)': round(quantile(preprocessMs, 0.5)),
    'total ms (median)': round(quantile(totalMs, 0.5)),
    'total ms (p90)': round(quantile(totalMs, 0.9)),
    'mean |Δ| vs PIL': deltas.length ? (deltas.reduce((s, d) => s + d.mean, 0) / deltas.length).toExponential(2) : '–',
    'max |Δ| vs PIL': deltas.length ? Math.max(...deltas.map((d) => d.max)).toFixed(4) : '–',
    'reference photos': deltas.length,
  });
}
console.log(`${photos.length} photos from ${photoDir}, one at a time, after ${WARMUP} warm-up decodes`);
console.table(rows);

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
