import { jimpDecoder } from './jimp.js';
import { DEFAULT_PREPROCESSING, type Preprocessing } from '../model/config.js';
import { draftSize, preprocess } from './preprocess.js';
import { libjpeg } from './libjpeg.js';
import { sharpDecoder } from './sharp.js';
import { DEFAULT_DECODER, DEFAULT_MAX_PIXELS, type Decoder, type DecoderName } from './types.js';

export { ImageError, type ImageErrorCode } from './errors.js';
export { readHeader, type ImageFormat, type ImageHeader } from './header.js';
export { INPUT_SIZE, MEAN, RESIZE_SIZE, STD, preprocess } from './preprocess.js';
export { DEFAULT_MAX_PIXELS, type DecodeLimits, type Decoder, type DecoderName, type RgbImage } from './types.js';

const DECODERS: Record<DecoderName, Decoder> = { jimp: jimpDecoder, sharp: sharpDecoder };

export function getDecoder(name: DecoderName): Decoder {
  const decoder = DECODERS[name];
  if (decoder === undefined) {
    throw new RangeError(`unknown decoder "${name}"; expected one of: ${Object.keys(DECODERS).join(', ')}`);
  }
  return decoder;
}

/** What decodes a JPEG with this decoder: jimp's jpeg-js, or libjpeg-turbo directly, or through libvips where its addon is missing. */
export function jpegLibrary(decoder: DecoderName): 'jpeg-js' | 'libjpeg-turbo' | 'libvips' {
  return decoder === 'jimp' ? 'jpeg-js' : libjpeg() ? 'libjpeg-turbo' : 'libvips';
}

export interface LoadOptions {
  /** Default 'jimp' (pure JS); 'sharp' is faster and matches PIL exactly on JPEG. */
  readonly decoder?: DecoderName;
  /** Default: the decoder's DEFAULT_MAX_PIXELS. */
  readonly maxPixels?: number;
  /** Decode large JPEGs at full size, not at the reduced scale PIL's draft() would pick (sharp). */
  readonly exactDecode?: boolean;
  /** The model's recipe (its config's preprocessing); default ImageNet's 256 → 224. */
  readonly preprocessing?: Preprocessing;
}

/** Encoded image bytes → the [3, H, W] float32 input tensor (in `out`, if given); throws ImageError for bad input. */
export async function loadTensor(bytes: Uint8Array, options: LoadOptions = {}, out?: Float32Array): Promise<Float32Array> {
  const { decoder = DEFAULT_DECODER, maxPixels = DEFAULT_MAX_PIXELS[decoder], exactDecode = false, preprocessing = DEFAULT_PREPROCESSING } = options;
  const draft = exactDecode ? undefined : draftSize(preprocessing);
  return preprocess(await getDecoder(decoder).decode(bytes, { maxPixels, draft }), preprocessing, out);
}
