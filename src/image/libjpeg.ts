import { loadAddon } from '../native.js';
import { corrupt } from './errors.js';
import type { ImageHeader } from './header.js';
import { jpegOrientation, orient } from './jpeg.js';
import type { DecodeLimits, RgbImage } from './types.js';

/*
 * JPEG decoding with libjpeg-turbo called directly (native/jpeg_decoder.cc): the library libvips
 * and PIL decode with, without libvips's pipeline around it: the same pixels as sharp, in 1.5
 * CPU ms instead of 4 for a 500×375 photo. The sharp decoder uses it for every JPEG but CMYK ones.
 */

export type DraftScale = 1 | 2 | 4 | 8;

interface JpegAddon {
  decode(bytes: Uint8Array, scaleDenom: DraftScale): Promise<RgbImage>;
}

let addon: JpegAddon | null | undefined;

/** The addon, or null where it was not built (no libjpeg headers) or does not load (no libjpeg.so.62). */
export function libjpeg(): JpegAddon | null {
  if (addon === undefined) {
    try {
      addon = loadAddon<JpegAddon>('pytorch_infer_jpeg');
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** Upright RGB pixels of a YCbCr, RGB or greyscale JPEG, at the scale PIL's draft() would pick. */
export async function decodeWithLibjpeg(jpeg: JpegAddon, bytes: Uint8Array, header: ImageHeader, limits: DecodeLimits): Promise<RgbImage> {
  let image: RgbImage;
  try {
    image = await jpeg.decode(bytes, draftScale(header, limits));
  } catch (e) {
    throw corrupt('JPEG', e);
  }
  // PIL drafts the stored image, then rotates it (ImageOps.exif_transpose).
  return orient(image, jpegOrientation(bytes));
}

/**
 * PIL's `draft()`: the largest scale s of 8, 4, 2 that keeps both sides ≥ the draft size; libjpeg's
 * DCT scaling then gives a ceil(w / s) × ceil(h / s) image. A 12 MP photo decodes in ~20 ms, not ~200.
 */
export function draftScale({ width, height }: ImageHeader, { draft }: DecodeLimits): DraftScale {
  if (!draft) return 1;
  const fits = Math.min(Math.floor(width / draft.width), Math.floor(height / draft.height));
  return ([8, 4, 2] as const).find((s) => fits >= s) ?? 1;
}
