import type { Interpolation } from '../model/config.js';
import type { RgbImage } from './types.js';
import { RESAMPLE_WASM } from './wasm/resample.js';

/*
 * Antialiased resize, bit-exact with Pillow's `img.resize(size, Image.BILINEAR)` or `Image.BICUBIC`
 * for RGB (ImagingResample in Pillow's src/libImaging/Resample.c). What makes it exact:
 * - the filter's support (triangle: 1 pixel, cubic: 2) widens by the downscale factor, so every
 *   source pixel contributes (antialiasing) instead of only the nearest;
 * - weights are computed in double, normalised per output pixel, then rounded to 22-bit fixed point;
 * - the horizontal pass runs first, into an 8-bit image (rounded and clipped), then the vertical.
 */

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;

/** Pillow's filters (Resample.c): support in input pixels at scale 1, and the weight at distance x. */
interface Filter {
  readonly support: number;
  weight(x: number): number;
}

const FILTERS: Record<Interpolation, Filter> = {
  bilinear: { support: 1, weight: (x) => Math.max(1 - Math.abs(x), 0) },
  // Keys' cubic with a = -0.5; its lobes are negative, so sums can leave 0..255 and are clipped
  // (Pillow's int32 sums fit: 255 × the positive weights stays under 2^31 at 22-bit precision).
  bicubic: {
    support: 2,
    weight(x) {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** A rectangle of the output image. */
export interface Region {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Fixed-point weights of one pass: output pixel i reads `count[i]` input pixels from `first[i]`. */
interface Coefficients {
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `taps` weights per output pixel, of which the first `count[i]` are used. */
  readonly weights: Int32Array;
  readonly taps: number;
}

/**
 * Where resized pixels go: sample c of region pixel (x, y) is written to
 * `out[offset + c * channelStride + y * rowStride + x * pixelStride]` as `table[c * 256 + value]`,
 * so the last pass can write a normalised planar tensor directly (no 8-bit crop in between).
 */
export interface PixelSink {
  readonly out: Float32Array | Uint8Array;
  /** 3 × 256 values, one table per channel. */
  readonly table: Float32Array;
  readonly offset: number;
  readonly channelStride: number;
  readonly pixelStride: number;
  readonly rowStride: number;
}

/** Resizes src to width × height (bilinear) and returns `region` of the result as 8-bit RGB. */
export function resizeBilinear(src: RgbImage, width: number, height: number, region?: Region): RgbImage {
  return resizeRgb(src, width, height, 'bilinear', region);
}

/** Resizes src to width × height (bicubic) and returns `region` of the result as 8-bit RGB. */
export function resizeBicubic(src: RgbImage, width: number, height: number, region?: Region): RgbImage {
  return resizeRgb(src, width, height, 'bicubic', region);
}

function resizeRgb(src: RgbImage, width: number, height: number, interpolation: Interpolation, region: Region = { left: 0, top: 0, width, height }): RgbImage {
  const data = new Uint8Array(region.width * region.height * 3);
  const sink = { out: data, table: IDENTITY, offset: 0, channelStride: 1, pixelStride: 3, rowStride: region.width * 3 };
  resizeInto(src, width, height, region, sink, interpolation);
  return { width: region.width, height: region.height, data };
}

const IDENTITY = Float32Array.from({ length: 768 }, (_, i) => i % 256);

/**
 * Resizes src to width × height and writes `region` of the result into `sink`. Each output pixel
 * depends only on its own coefficients, so this equals resize-then-crop, minus the work for
 * cropped pixels. A pass that keeps its size has weights [1, 0] (bicubic [0, 1, 0, 0]; exact), so
 * running it equals Pillow skipping it.
 */
export function resizeInto(src: RgbImage, width: number, height: number, region: Region, sink: PixelSink, interpolation: Interpolation = 'bilinear'): void {
  const filter = FILTERS[interpolation];
  const horizontal = coefficients(src.width, width, region.left, region.width, filter);
  const vertical = coefficients(src.height, height, region.top, region.height, filter);
  // Only the rows the vertical pass reads need the horizontal pass.
  const firstRow = vertical.first[0];
  const lastRow = vertical.first[region.height - 1] + vertical.count[region.height - 1];
  resample(src, horizontal, vertical, firstRow, lastRow, sink);
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for `filter`, for the `length` output pixels
 * from `start` of an inSize → outSize pass.
 */
function coefficients(inSize: number, outSize: number, start: number, length: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale; // widened when shrinking
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(length);
  const count = new Int32Array(length);
  const weights = new Int32Array(length * taps);
  const k = new Float64Array(taps);
  const inverseScale = 1 / filterScale; // Pillow multiplies by this; dividing can differ in the last bit

  for (let i = 0; i < length; i++) {
    const center = (start + i + 0.5) * scale;
    // Math.trunc is C's (int) cast, which Pillow uses to round these bounds.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * inverseScale);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < n; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[i * taps + x] = Math.trunc(w < 0 ? w * ONE - 0.5 : w * ONE + 0.5);
    }
    first[i] = xmin;
    count[i] = n;
  }
  return { first, count, weights, taps };
}

/**
 * Runs both passes in the WebAssembly module (./wasm/resample.c, the same arithmetic as Pillow's C):
 * the rows the vertical pass reads are copied in, the coefficients beside them, and the sink's
 * values copied out. One module instance per thread (decode worker), its memory reused up to
 * KEEP_MEMORY_BYTES.
 */
function resample(src: RgbImage, h: Coefficients, v: Coefficients, firstRow: number, lastRow: number, sink: PixelSink): void {
  const width = h.first.length;
  const inStride = src.width * 3;
  const rows = lastRow - firstRow;
  const layout = new Layout();
  const input = layout.take(rows * inStride);
  const hFirst = layout.take(h.first.byteLength);
  const hCount = layout.take(h.count.byteLength);
  const hWeights = layout.take(h.weights.byteLength);
  const vFirst = layout.take(v.first.byteLength);
  const vCount = layout.take(v.count.byteLength);
  const vWeights = layout.take(v.weights.byteLength);
  const band = layout.take(rows * width * 3);
  const line = layout.take(width * 3 + 16); // the last 16-sample step may run past the row
  const out = layout.take(sink.out.length * 4);
  const table = layout.take(sink.table.byteLength);
  const { memory, horizontal, vertical } = module(layout.end);
  const bytes = new Uint8Array(memory.buffer);
  const words = new Int32Array(memory.buffer);
  const floats = new Float32Array(memory.buffer);
  bytes.set(src.data.subarray(firstRow * inStride, lastRow * inStride), input);
  words.set(h.first, hFirst >> 2);
  words.set(h.count, hCount >> 2);
  words.set(h.weights, hWeights >> 2);
  words.set(v.first.map((y) => y - firstRow), vFirst >> 2);
  words.set(v.count, vCount >> 2);
  words.set(v.weights, vWeights >> 2);
  floats.set(sink.table, table >> 2);
  const result = floats.subarray(out >> 2, (out >> 2) + sink.out.length);
  if (v.first.length * width * 3 < sink.out.length) result.set(sink.out); // keep what the region does not cover
  horizontal(input, inStride, rows, band, width, hFirst, hCount, hWeights, h.taps);
  vertical(band, width, v.first.length, vFirst, vCount, vWeights, v.taps, line, out, sink.offset, sink.channelStride, sink.pixelStride, sink.rowStride, table);
  sink.out.set(result);
  if (memory.buffer.byteLength > KEEP_MEMORY_BYTES) resampler = undefined;
}

/** Consecutive 16-byte-aligned blocks of the module's memory, from its heap base. */
class Layout {
  end = instance().heapBase;

  take(bytes: number): number {
    const at = this.end;
    this.end = (at + bytes + 15) & ~15;
    return at;
  }
}

interface Resampler {
  memory: WebAssembly.Memory;
  heapBase: number;
  horizontal(input: number, inStride: number, rows: number, out: number, outWidth: number, first: number, count: number, weights: number, taps: number): void;
  vertical(band: number, width: number, height: number, first: number, count: number, weights: number, taps: number, line: number,
    out: number, offset: number, channelStride: number, pixelStride: number, rowStride: number, table: number): void;
}

/**
 * A WebAssembly memory only grows. An instance that needed more than this (a 500×375 photo needs
 * 1.5 MB, a 1 MP one ~6, a 4 MP one that is not a JPEG ~30) is dropped after the image, so its
 * memory goes with the garbage instead of staying with the worker for good. At 32 MB, each decode
 * worker kept ~30 MB after a fuzz run (bench/fuzz.ts); a new instance costs microseconds.
 */
const KEEP_MEMORY_BYTES = 8 * 2 ** 20;

let compiled: WebAssembly.Module | undefined;
let resampler: Resampler | undefined;

function instance(): Resampler {
  if (resampler) return resampler;
  compiled ??= new WebAssembly.Module(Buffer.from(RESAMPLE_WASM, 'base64'));
  const { exports } = new WebAssembly.Instance(compiled);
  const { memory, horizontal, vertical, __heap_base } = exports as Record<string, unknown>;
  resampler = {
    memory: memory as WebAssembly.Memory,
    heapBase: (__heap_base as WebAssembly.Global).value as number,
    horizontal: horizontal as Resampler['horizontal'],
    vertical: vertical as Resampler['vertical'],
  };
  return resampler;
}

/** The module with at least `bytes` of memory. */
function module(bytes: number): Resampler {
  const r = instance();
  const missing = bytes - r.memory.buffer.byteLength;
  if (missing > 0) r.memory.grow(Math.ceil(missing / 65536));
  return r;
}
