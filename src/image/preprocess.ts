import { DEFAULT_PREPROCESSING, type Preprocessing } from '../model/config.js';
import { resizeInto } from './resize.js';
import type { RgbImage } from './types.js';

/*
 * torchvision's evaluation transform on a PIL image, as a model's config describes it:
 *   Resize(N) or Resize((H, W)) → CenterCrop(inputSize) → ToTensor() → Normalize(mean, std)
 * reproduced to the bit, given the same RGB pixels. The default is ImageNet's:
 *   Resize(256) → CenterCrop(224), bilinear, ImageNet mean/std.
 */

export const RESIZE_SIZE = DEFAULT_PREPROCESSING.resize.size;
export const INPUT_SIZE = DEFAULT_PREPROCESSING.inputSize[0];
export const { mean: MEAN, std: STD } = DEFAULT_PREPROCESSING;

/** Float32 values per channel and byte: torch computes (x / 255 - mean) / std in float32. */
function normalisation(mean: Preprocessing['mean'], std: Preprocessing['std']): Float32Array {
  const f = Math.fround;
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = f(f(f(v / 255) - f(mean[c])) / f(std[c]));
  }
  return table;
}

const DEFAULT_TABLE = normalisation(MEAN, STD);

/** Size after Resize(size): the shorter side becomes `size`, the longer keeps the aspect ratio, truncated. */
export function resizedSize(width: number, height: number, size: number = RESIZE_SIZE): { width: number; height: number } {
  const long = Math.trunc((size * Math.max(width, height)) / Math.min(width, height));
  return width <= height ? { width: size, height: long } : { width: long, height: size };
}

/** The size a photo is needed at, at least, before the resize: what a reduced (draft) JPEG decode may keep. */
export function draftSize({ resize }: Preprocessing): { width: number; height: number } {
  return resize.mode === 'squash' ? { width: resize.size[1], height: resize.size[0] } : { width: resize.size, height: resize.size };
}

/**
 * The image as a [3, H, W] float32 tensor (NCHW without the batch axis), H × W the config's input
 * size, written into `out`.
 */
export function preprocess(img: RgbImage, config: Preprocessing = DEFAULT_PREPROCESSING, out?: Float32Array): Float32Array {
  const { resize, inputSize: [cropHeight, cropWidth] } = config;
  out ??= new Float32Array(3 * cropHeight * cropWidth);
  const size = resize.mode === 'squash' ? { width: resize.size[1], height: resize.size[0] } : resizedSize(img.width, img.height, resize.size);
  const left = cropStart(size.width, cropWidth);
  const top = cropStart(size.height, cropHeight);
  // Resize only the pixels the crop keeps; resize-then-crop would give the same values.
  const x0 = Math.max(left, 0);
  const y0 = Math.max(top, 0);
  const visible = {
    left: x0,
    top: y0,
    width: Math.min(left + cropWidth, size.width) - x0,
    height: Math.min(top + cropHeight, size.height) - y0,
  };
  const table = config === DEFAULT_PREPROCESSING ? DEFAULT_TABLE : normalisation(config.mean, config.std);
  const plane = cropHeight * cropWidth;
  if (visible.width !== cropWidth || visible.height !== cropHeight) {
    for (let c = 0; c < 3; c++) out.fill(table[c * 256], c * plane, (c + 1) * plane); // black padding
  }
  const offset = (y0 - top) * cropWidth + (x0 - left);
  const sink = { out, table, offset, channelStride: plane, pixelStride: 1, rowStride: cropWidth };
  resizeInto(img, size.width, size.height, visible, sink, config.interpolation);
  return out;
}

/**
 * First row (or column) of CenterCrop(crop) in a side of `size` pixels, as torchvision computes it:
 * `int(round((size - crop) / 2.0))` with Python's round-half-to-even. A negative start means the
 * side is shorter than the crop, where torchvision pads with black, (crop - size) // 2 before.
 */
export function cropStart(size: number, crop: number = INPUT_SIZE): number {
  if (size < crop) return -Math.floor((crop - size) / 2);
  const excess = size - crop;
  const half = excess >> 1;
  return excess % 2 === 1 && half % 2 === 1 ? half + 1 : half; // x.5 goes to the even neighbour
}
