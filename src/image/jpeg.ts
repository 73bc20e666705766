import decode from './jpeg-js.cjs';
import { isStartOfFrame, jpegSegments } from './header.js';
import type { RgbImage } from './types.js';

/*
 * JPEG decoding with jpeg-js (jimp's JPEG codec, in a copy that takes corrupt data as libjpeg
 * does: ./jpeg-js.cjs), finished the way libjpeg-turbo finishes it for PIL. jpeg-js's integer
 * IDCT is within ±1 of libjpeg's, but it upsamples chroma by repeating pixels and truncates in
 * its YCbCr → RGB conversion (a −0.4 level bias on average), so we take its raw components and
 * do both steps as libjpeg does ("fancy" triangle upsampling, fixed-point colour tables). Then
 * the EXIF orientation, as PIL's ImageOps.exif_transpose.
 */

interface Component {
  readonly id: number;
  /** Sampling factors: this component's resolution relative to the others. */
  readonly h: number;
  readonly v: number;
}

interface JpegInfo {
  readonly components: readonly Component[];
  /** Whether 3 components are YCbCr (or RGB), as libjpeg decides it (jdapimin.c). */
  readonly ycbcr: boolean;
  /** Byte offset of the Adobe segment's transform flag, if there is one. */
  readonly adobeTransformAt?: number;
  /** EXIF orientation, 1 (upright) when absent. */
  readonly orientation: number;
}

/** Upright RGB pixels of a JPEG; throws what jpeg-js throws for data libjpeg would refuse too, or for a truncated file. */
export function decodeJpeg(bytes: Uint8Array, maxPixels: number): RgbImage {
  checkSegments(bytes);
  const info = readJpegInfo(bytes);
  const { width, height, data } = decode(withRawComponents(bytes, info), {
    useTArray: true,
    formatAsRGBA: false,
    colorTransform: false,
    maxResolutionInMP: maxPixels / 1e6,
    // jpeg-js refuses to allocate more than this; 16 bytes a pixel covers coefficients and planes.
    maxMemoryUsageInMB: Math.max(512, Math.ceil((maxPixels * 16) / 2 ** 20)),
  });
  // 1 component: grey, already replicated to RGB. 4 components: CMYK, which jpeg-js converts.
  if (info.components.length === 3) {
    const maxH = Math.max(...info.components.map((c) => c.h));
    const maxV = Math.max(...info.components.map((c) => c.v));
    info.components.forEach((c, i) => upsample(data, width, height, i, maxH / c.h, maxV / c.v));
    if (info.ycbcr) yccToRgb(data);
  }
  return orient({ width, height, data }, info.orientation);
}

/** The EXIF orientation (1..8) of a JPEG, 1 when absent or unreadable. */
export function jpegOrientation(bytes: Uint8Array): number {
  try {
    return readJpegInfo(bytes).orientation;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return 1;
  }
}

/**
 * The checks libjpeg makes of the segments before the first scan (jdmarker.c, jdinput.c) and PIL
 * of the frame, where jpeg-js makes none: jpeg-js would decode what libjpeg, and so PIL, refuses.
 */
function checkSegments(bytes: Uint8Array): void {
  let frameIds: number[] = [];
  for (const { marker, start, end } of jpegSegments(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
    const length = end - start + 2;
    if (isStartOfFrame(marker)) {
      const [precision, count] = [bytes[start], bytes[start + 5]];
      if (precision !== 8) throw new Error(`its frame has ${precision}-bit samples; only 8-bit JPEGs are supported`);
      if (count !== 1 && count !== 3 && count !== 4) throw new Error(`its frame has ${count} components, not 1, 3 or 4`);
      if (length !== 8 + 3 * count) throw new Error(`its frame header is ${length} bytes long, not ${8 + 3 * count} for ${components(count)}`);
      frameIds = Array.from({ length: count }, (_, i) => bytes[start + 6 + i * 3]);
      for (let i = 0; i < count; i++) {
        const sampling = bytes[start + 7 + i * 3];
        const [h, v] = [sampling >> 4, sampling & 15];
        if (h < 1 || h > 4 || v < 1 || v > 4) throw new Error(`component ${i + 1} has sampling factors ${h}×${v}, outside 1..4`);
      }
    } else if (marker === 0xc4) {
      // Tables, each a class and index byte, 16 code counts and the values counted: no bytes over.
      let p = start;
      while (end - p > 16) {
        const count = bytes.subarray(p + 1, p + 17).reduce((sum, n) => sum + n, 0);
        if ((bytes[p] & 0x0f) > 3 || count > 256 || p + 17 + count > end) throw new Error('a Huffman table (DHT) is malformed');
        p += 17 + count;
      }
      if (p !== end) throw new Error(`a Huffman table segment (DHT) has ${end - p} byte${end - p === 1 ? '' : 's'} over`);
    } else if (marker === 0xdd && length !== 4) {
      throw new Error(`its restart interval segment (DRI) is ${length} bytes long, not 4`);
    } else if (marker === 0xda) {
      const count = bytes[start];
      if (count < 1 || count > 4 || length !== 6 + 2 * count) throw new Error(`its scan header (SOS) is ${length} bytes long for ${components(count)}`);
      for (let i = 0; i < count; i++) {
        if (!frameIds.includes(bytes[start + 1 + i * 2])) throw new Error('its scan names a component the frame does not have');
      }
    }
  }
}

const components = (n: number) => `${n} component${n === 1 ? '' : 's'}`;

function readJpegInfo(bytes: Uint8Array): JpegInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let components: Component[] = [];
  let jfif = false;
  let adobeTransformAt: number | undefined;
  let orientation: number | undefined;
  for (const { marker, start, end } of jpegSegments(view)) {
    if (isStartOfFrame(marker)) {
      const count = bytes[start + 5];
      components = Array.from({ length: count }, (_, i) => {
        const p = start + 6 + i * 3;
        return { id: bytes[p], h: bytes[p + 1] >> 4, v: bytes[p + 1] & 15 };
      });
    } else if (marker === 0xe0 && hasTag(bytes, start, 'JFIF\0')) {
      jfif = true;
    } else if (marker === 0xee && hasTag(bytes, start, 'Adobe') && end - start >= 12) {
      adobeTransformAt = start + 11;
    } else if (marker === 0xe1 && orientation === undefined && hasTag(bytes, start, 'Exif\0\0')) {
      orientation = exifOrientation(new DataView(bytes.buffer, bytes.byteOffset + start + 6, end - start - 6));
    }
  }
  // libjpeg's rule: JFIF means YCbCr, else the Adobe flag decides, else the component IDs.
  const rgbIds = components.map((c) => c.id).join() === '82,71,66'; // 'R', 'G', 'B'
  const ycbcr = jfif || (adobeTransformAt !== undefined ? bytes[adobeTransformAt] !== 0 : !rgbIds);
  return { components, ycbcr, adobeTransformAt, orientation: orientation ?? 1 };
}

/**
 * jpeg-js ignores `colorTransform: false` when an Adobe segment asks for a transform; clearing
 * the flag in a copy gets the raw components in every case.
 */
function withRawComponents(bytes: Uint8Array, info: JpegInfo): Uint8Array {
  const at = info.adobeTransformAt;
  if (info.components.length !== 3 || at === undefined || bytes[at] === 0) return bytes;
  const copy = bytes.slice();
  copy[at] = 0;
  return copy;
}

/** Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block, or 1. */
function exifOrientation(tiff: DataView): number {
  try {
    const le = tiff.getUint16(0) === 0x4949;
    const ifd = tiff.getUint32(4, le);
    const entries = tiff.getUint16(ifd, le);
    for (let i = 0; i < entries; i++) {
      const e = ifd + 2 + i * 12;
      if (tiff.getUint16(e, le) === 0x0112) return tiff.getUint16(e + 8, le);
    }
  } catch (e) {
    if (!(e instanceof RangeError)) throw e; // a broken EXIF block does not make a broken image
  }
  return 1;
}

/**
 * Replaces component `c` of interleaved, pixel-repeated (box-upsampled) data with libjpeg's
 * fancy upsampling for 2×1, 1×2 and 2×2 subsampling: each output sample weighs the nearest
 * input sample 3/4 and the next nearest 1/4 in each direction, edges repeating the last sample.
 * libjpeg box-upsamples every other ratio, as jpeg-js did already.
 */
function upsample(data: Uint8Array, width: number, height: number, c: number, hRatio: number, vRatio: number): void {
  const cols = Math.ceil(width / hRatio);
  const rows = Math.ceil(height / vRatio);
  const fancy = (hRatio === 2 && vRatio <= 2 && cols > 2) || (hRatio === 1 && vRatio === 2);
  if (!fancy) return;

  const plane = new Uint8Array(cols * rows);
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++) plane[j * cols + i] = data[(j * vRatio * width + i * hRatio) * 3 + c];
  }
  // Per output row: the input row, blended 3:1 with the next nearest row when vRatio is 2.
  const sums = new Int32Array(cols);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / vRatio);
    const near = row * cols;
    if (vRatio === 2) {
      const far = Math.min(Math.max(row + (y % 2 === 0 ? -1 : 1), 0), rows - 1) * cols;
      for (let i = 0; i < cols; i++) sums[i] = 3 * plane[near + i] + plane[far + i];
    } else {
      for (let i = 0; i < cols; i++) sums[i] = plane[near + i];
    }
    let o = y * width * 3 + c;
    if (hRatio === 1) {
      const bias = y % 2 === 0 ? 1 : 2;
      for (let x = 0; x < width; x++, o += 3) data[o] = (sums[x] + bias) >> 2;
      continue;
    }
    // Rounding biases alternate so that errors do not all go one way, as in libjpeg.
    const shift = vRatio === 2 ? 4 : 2;
    const evenBias = vRatio === 2 ? 8 : 1;
    const oddBias = vRatio === 2 ? 7 : 2;
    for (let x = 0; x < width; x++, o += 3) {
      const i = x >> 1;
      const here = 3 * sums[i];
      data[o] =
        x % 2 === 0
          ? (here + sums[Math.max(i - 1, 0)] + evenBias) >> shift
          : (here + sums[Math.min(i + 1, cols - 1)] + oddBias) >> shift;
    }
  }
}

/** libjpeg's fixed-point YCbCr → RGB tables (jdcolor.c, 16 fractional bits). */
const SCALE_BITS = 16;
const fix = (x: number) => Math.trunc(x * (1 << SCALE_BITS) + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + (1 << (SCALE_BITS - 1))) >> SCALE_BITS;
  CB_B[i] = (fix(1.772) * x + (1 << (SCALE_BITS - 1))) >> SCALE_BITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + (1 << (SCALE_BITS - 1));
}

function yccToRgb(data: Uint8Array): void {
  const out = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length); // clamps like range_limit
  for (let p = 0; p < data.length; p += 3) {
    const y = data[p];
    const cb = data[p + 1];
    const cr = data[p + 2];
    out[p] = y + CR_R[cr];
    out[p + 1] = y + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS);
    out[p + 2] = y + CB_B[cb];
  }
}

/**
 * Applies an EXIF orientation (2..8) as PIL's exif_transpose does. Output pixel (x, y) reads
 * source pixel `start + x * dx + y * dy`; orientations 5..8 swap width and height.
 */
export function orient(src: RgbImage, orientation: number): RgbImage {
  const { width: w, height: h } = src;
  const last = (h - 1) * w; // first pixel of the bottom row
  const walks: Record<number, [start: number, dx: number, dy: number]> = {
    2: [w - 1, -1, w], // mirror left-right
    3: [last + w - 1, -1, -w], // rotate 180°
    4: [last, 1, -w], // mirror top-bottom
    5: [0, w, 1], // transpose
    6: [last, -w, 1], // rotate 90° clockwise
    7: [last + w - 1, -w, -1], // transverse
    8: [w - 1, w, -1], // rotate 90° counter-clockwise
  };
  const walk = walks[orientation];
  if (walk === undefined) return src;
  const [start, dx, dy] = walk;
  const [width, height] = orientation >= 5 ? [h, w] : [w, h];
  const data = new Uint8Array(src.data.length);
  let o = 0;
  for (let y = 0; y < height; y++) {
    let s = start + y * dy;
    for (let x = 0; x < width; x++, s += dx) {
      const p = s * 3;
      data[o++] = src.data[p];
      data[o++] = src.data[p + 1];
      data[o++] = src.data[p + 2];
    }
  }
  return { width, height, data };
}

function hasTag(bytes: Uint8Array, at: number, tag: string): boolean {
  for (let i = 0; i < tag.length; i++) if (bytes[at + i] !== tag.charCodeAt(i)) return false;
  return true;
}
