import { resizeInto } from './resize.js';
import type { RgbImage } from './types.js';

/*
 * torchvision's ImageNet evaluation transform on a PIL image:
 *   Resize(256) → CenterCrop(224) → ToTensor() → Normalize(MEAN, STD)
 * reproduced to the bit, given the same RGB pixels.
 */

export const RESIZE_SIZE = 256;
export const INPUT_SIZE = 224;
export const MEAN = [0.485, 0.456, 0.406] as const;
export const STD = [0.229, 0.224, 0.225] as const;

/** Float32 values per channel and byte: torch computes (x / 255 - mean) / std in float32. */
const NORMALISED = (() => {
  const f = Math.fround;
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = f(f(f(v / 255) - f(MEAN[c])) / f(STD[c]));
  }
  return table;
})();

/** Size after Resize(256): the shorter side becomes 256, the longer keeps the aspect ratio, truncated. */
export function resizedSize(width: number, height: number): { width: number; height: number } {
  const long = Math.trunc((RESIZE_SIZE * Math.max(width, height)) / Math.min(width, height));
  return width <= height ? { width: RESIZE_SIZE, height: long } : { width: long, height: RESIZE_SIZE };
}

/** The image as a [3, 224, 224] float32 tensor (NCHW without the batch axis), written into `out`. */
export function preprocess(img: RgbImage, out: Float32Array = new Float32Array(3 * INPUT_SIZE * INPUT_SIZE)): Float32Array {
  const size = resizedSize(img.width, img.height);
  const left = cropStart(size.width);
  const top = cropStart(size.height);
  // Resize only the pixels the crop keeps; resize-then-crop would give the same values.
  const x0 = Math.max(left, 0);
  const y0 = Math.max(top, 0);
  const visible = {
    left: x0,
    top: y0,
    width: Math.min(left + INPUT_SIZE, size.width) - x0,
    height: Math.min(top + INPUT_SIZE, size.height) - y0,
  };
  const plane = INPUT_SIZE * INPUT_SIZE;
  if (visible.width !== INPUT_SIZE || visible.height !== INPUT_SIZE) {
    for (let c = 0; c < 3; c++) out.fill(NORMALISED[c * 256], c * plane, (c + 1) * plane); // black padding
  }
  const offset = (y0 - top) * INPUT_SIZE + (x0 - left);
  resizeInto(img, size.width, size.height, visible, { out, table: NORMALISED, offset, channelStride: plane, pixelStride: 1, rowStride: INPUT_SIZE });
  return out;
}

/**
 * First row (or column) of CenterCrop(224) in a side of `size` pixels, as torchvision computes it:
 * `int(round((size - 224) / 2.0))` with Python's round-half-to-even. A negative start means the
 * side is shorter than 224, where torchvision pads with black, (224 - size) // 2 before.
 */
export function cropStart(size: number): number {
  if (size < INPUT_SIZE) return -Math.floor((INPUT_SIZE - size) / 2);
  const excess = size - INPUT_SIZE;
  const half = excess >> 1;
  return excess % 2 === 1 && half % 2 === 1 ? half + 1 : half; // x.5 goes to the even neighbour
}
