/** Decoded pixels: packed 8-bit RGB, 3 bytes per pixel, rows top to bottom, no row padding. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export type DecoderName = 'jimp' | 'sharp';

/** The design's decoder: pure JavaScript, nothing native to install. */
export const DEFAULT_DECODER: DecoderName = 'jimp';
export const DECODER_NAMES: readonly DecoderName[] = ['jimp', 'sharp'];

export interface DecodeLimits {
  /** Images with more pixels (width × height, read from the header) are refused before decoding. */
  readonly maxPixels: number;
  /**
   * The smallest size the pixels are needed at: a decoder may decode a JPEG at 1/2, 1/4 or 1/8
   * scale as long as both sides stay at least this large (what PIL's `draft()` does). Absent: full size.
   */
  readonly draft?: { readonly width: number; readonly height: number };
}

/**
 * The pixel limit fits each decoder's speed, so that the largest photo accepted decodes well within
 * the decode deadline (DEFAULT_DECODE_DEADLINE_MS) on a busy machine: sharp decodes 40 MP (any
 * camera photo) in ~50 ms at draft scale; jimp takes ~1 s for 16 MP, and 2.3 s and 1.1 GB of
 * memory for 40 MP, on an idle core (bench/results/fuzz.md).
 */
export const DEFAULT_MAX_PIXELS: Readonly<Record<DecoderName, number>> = { sharp: 40_000_000, jimp: 16_000_000 };

/**
 * Turns encoded image bytes into upright RGB pixels exactly as PIL's
 * `ImageOps.exif_transpose(Image.open(f)).convert('RGB')` would, or throws an ImageError.
 */
export interface Decoder {
  readonly name: DecoderName;
  decode(bytes: Uint8Array, limits: DecodeLimits): Promise<RgbImage>;
}
