import { gifFirstFrame } from './header.js';

/*
 * PIL decodes a GIF's first frame only, and refuses LZW codes its decoder cannot follow
 * (GifDecode.c). omggif (jimp's GIF codec) reads every frame's blocks before it decodes any, and
 * makes what it can of any code. So jimp gets the first frame alone, once its codes are checked.
 */

interface FirstFrame {
  readonly width: number;
  readonly height: number;
  /** The LZW minimum code size. */
  readonly bits: number;
  /** Where its data's sub-blocks start, and where the empty one that ends them is (or the data's end). */
  readonly blocks: number;
  readonly end: number;
}

function firstFrame(gif: Uint8Array): FirstFrame | undefined {
  const at = gifFirstFrame(gif);
  if (at === undefined || at + 11 > gif.length) return undefined;
  const flags = gif[at + 9];
  // The descriptor, its local colour table, the code size, then sub-blocks until an empty one.
  const bitsAt = at + 10 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
  let end = bitsAt + 1;
  while (end < gif.length && gif[end] !== 0) end += gif[end] + 1;
  const width = gif[at + 5] | (gif[at + 6] << 8);
  const height = gif[at + 7] | (gif[at + 8] << 8);
  return { width, height, bits: gif[bitsAt], blocks: bitsAt + 1, end: Math.min(end, gif.length) };
}

/** The GIF up to the end of its first frame, then the trailer; a GIF whose first frame does not end comes back whole, for the decoder to refuse. */
export function gifFirstFrameOnly(gif: Uint8Array): Uint8Array {
  const frame = firstFrame(gif);
  if (frame === undefined || frame.end >= gif.length) return gif;
  const out = new Uint8Array(frame.end + 2);
  out.set(gif.subarray(0, frame.end + 1));
  out[frame.end + 1] = 0x3b; // trailer
  return out;
}

const MAX_CODES = 4096;

/**
 * Walks the first frame's LZW codes until its pixels are all there, and throws where PIL's decoder
 * gives up: a code past the next free one, a first code after a clear that is not a pixel, or
 * data that ends (an end code, or no more blocks) before the last pixel. omggif warns of the last
 * and leaves the missing pixels transparent.
 */
export function checkGifCodes(gif: Uint8Array): void {
  const frame = firstFrame(gif);
  if (frame === undefined) return;
  const { bits, width, height } = frame;
  if (bits > 12) throw new Error(`its first frame's LZW code size is ${bits}, over 12`);
  const clear = 1 << bits;
  const lengths = new Uint16Array(MAX_CODES); // of the strings the codes above `clear` stand for
  const length = (code: number) => (code < clear ? 1 : lengths[code]);
  let size = bits + 1;
  let next = clear + 2;
  let last = -1; // the previous code; -1 right after a clear
  let pixels = 0;
  let buffer = 0;
  let count = 0; // bits in buffer
  let p = frame.blocks;
  let left = 0; // bytes left in the current sub-block
  while (pixels < width * height) {
    while (count < size) {
      if (left === 0) {
        if (p >= frame.end) throw new Error(`its first frame's data ends after ${pixels} of its ${width * height} pixels`);
        left = gif[p++];
        continue;
      }
      buffer |= gif[p++] << count;
      count += 8;
      left--;
    }
    const code = buffer & ((1 << size) - 1);
    buffer >>>= size;
    count -= size;
    if (code === clear) {
      [size, next, last] = [bits + 1, clear + 2, -1];
      continue;
    }
    if (code === clear + 1) throw new Error(`its first frame's data ends after ${pixels} of its ${width * height} pixels`);
    if (last === -1) {
      if (code > clear) throw new Error(`its first frame's LZW data starts with code ${code}, not a pixel`);
      pixels++;
      last = code;
      continue;
    }
    if (code > next) throw new Error(`its first frame's LZW data has code ${code} where at most ${next} can come`);
    pixels += code === next ? length(last) + 1 : length(code);
    if (next < MAX_CODES) {
      lengths[next] = length(last) + 1;
      if (next === (1 << size) - 1 && size < 12) size++;
      next++;
    }
    last = code;
  }
}
