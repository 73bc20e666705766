import type { RgbImage } from './types.js';

/*
 * Antialiased bilinear resize, bit-exact with Pillow's `img.resize(size, Image.BILINEAR)` for RGB
 * (ImagingResample in Pillow's src/libImaging/Resample.c). What makes it exact:
 * - the triangle filter's support (1 pixel) widens by the downscale factor, so every source pixel
 *   contributes (antialiasing) instead of only the two nearest;
 * - weights are computed in double, normalised per output pixel, then rounded to 22-bit fixed point;
 * - the horizontal pass runs first, into an 8-bit image (rounded and clipped), then the vertical.
 */

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
/** Accumulators start at 0.5 so the final shift rounds to nearest. */
const HALF = 1 << (PRECISION_BITS - 1);
// Sums are int32 (Math.imul, | 0) as in Pillow's C; with bilinear weights they stay below 2^31.

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

/** Resizes src to width × height and returns `region` of the result as 8-bit RGB. */
export function resizeBilinear(
  src: RgbImage,
  width: number,
  height: number,
  region: Region = { left: 0, top: 0, width, height },
): RgbImage {
  const data = new Uint8Array(region.width * region.height * 3);
  resizeInto(src, width, height, region, { out: data, table: IDENTITY, offset: 0, channelStride: 1, pixelStride: 3, rowStride: region.width * 3 });
  return { width: region.width, height: region.height, data };
}

const IDENTITY = Float32Array.from({ length: 768 }, (_, i) => i % 256);

/**
 * Resizes src to width × height and writes `region` of the result into `sink`. Each output pixel
 * depends only on its own coefficients, so this equals resize-then-crop, minus the work for
 * cropped pixels. A pass that keeps its size has weights [1, 0] (exact), so running it equals
 * Pillow skipping it.
 */
export function resizeInto(src: RgbImage, width: number, height: number, region: Region, sink: PixelSink): void {
  const horizontal = coefficients(src.width, width, region.left, region.width);
  const vertical = coefficients(src.height, height, region.top, region.height);
  // Only the rows the vertical pass reads need the horizontal pass.
  const firstRow = vertical.first[0];
  const lastRow = vertical.first[region.height - 1] + vertical.count[region.height - 1];
  const band = resampleHorizontal(src, horizontal, firstRow, lastRow);
  resampleVertical(band, vertical, firstRow, sink);
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter, for the
 * `length` output pixels from `start` of an inSize → outSize pass.
 */
function coefficients(inSize: number, outSize: number, start: number, length: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support of 1, widened when shrinking
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
      const w = Math.max(1 - Math.abs((x + xmin - center + 0.5) * inverseScale), 0);
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

/** Scratch for the horizontal pass, reused: a photo's band is ~200 KB, allocated per photo it
 * kept the garbage collector busy. Each thread (worker) has its own. */
let scratch = new Uint8Array(0);

/** Resamples each row of src in [firstRow, lastRow) to the width of `c`; the result is scratch. */
function resampleHorizontal(src: RgbImage, c: Coefficients, firstRow: number, lastRow: number): RgbImage {
  const width = c.first.length;
  const height = lastRow - firstRow;
  const { first, count, weights, taps } = c;
  const input = src.data;
  if (scratch.length < width * height * 3) scratch = new Uint8Array(width * height * 3);
  const out = scratch;
  const inStride = src.width * 3;
  // Row by row, in memory order: 1.8× faster than column by column (measured on the 100 photos).
  for (let y = 0, o = 0; y < height; y++) {
    const row = (firstRow + y) * inStride;
    for (let x = 0; x < width; x++, o += 3) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let k = x * taps, end = k + count[x], p = row + first[x] * 3; k < end; k++, p += 3) {
        const w = weights[k];
        r = (r + Math.imul(input[p], w)) | 0;
        g = (g + Math.imul(input[p + 1], w)) | 0;
        b = (b + Math.imul(input[p + 2], w)) | 0;
      }
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width, height, data: out };
}

/** Resamples the columns of src, whose row 0 is source row `rowOffset`, to the height of `c`, into sink. */
function resampleVertical(src: RgbImage, c: Coefficients, rowOffset: number, sink: PixelSink): void {
  const height = c.first.length;
  const stride = src.width * 3;
  const { first, count, weights, taps } = c;
  const input = src.data;
  const { out, table, channelStride, pixelStride, rowStride } = sink;
  const [g0, b0] = [channelStride, 2 * channelStride];
  for (let y = 0; y < height; y++) {
    const k = y * taps;
    const n = count[y];
    const row0 = (first[y] - rowOffset) * stride;
    let o = sink.offset + y * rowStride;
    for (let i = row0, end = row0 + stride; i < end; i += 3, o += pixelStride) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let t = 0, p = i; t < n; t++, p += stride) {
        const w = weights[k + t];
        r = (r + Math.imul(input[p], w)) | 0;
        g = (g + Math.imul(input[p + 1], w)) | 0;
        b = (b + Math.imul(input[p + 2], w)) | 0;
      }
      out[o] = table[clip8(r)];
      out[o + g0] = table[256 + clip8(g)];
      out[o + b0] = table[512 + clip8(b)];
    }
  }
}

function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
