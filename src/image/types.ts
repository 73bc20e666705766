/** Decoded pixels: packed 8-bit RGB, 3 bytes per pixel, rows top to bottom, no row padding. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export type DecoderName = 'jimp' | 'sharp';
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

/** 40 MP: any camera photo fits; an RGBA decode of it is 160 MB. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/**
 * Turns encoded image bytes into upright RGB pixels exactly as PIL's
 * `ImageOps.exif_transpose(Image.open(f)).convert('RGB')` would, or throws an ImageError.
 */
export interface Decoder {
  readonly name: DecoderName;
  decode(bytes: Uint8Array, limits: DecodeLimits): Promise<RgbImage>;
}
