import { loadAddon } from '../native.js';
import { cmykToRgb } from './convert.js';
import { corrupt } from './errors.js';
import type { ImageHeader } from './header.js';
import { jpegOrientation, orient } from './jpeg.js';
import type { DecodeLimits, RgbImage } from './types.js';

/*
 * JPEG decoding with libjpeg-turbo called directly (native/jpeg_decoder.cc): the library libvips
 * and PIL decode with, without libvips's pipeline around it: the same pixels as sharp, in 1.5
 * CPU ms instead of 4 for a 500×375 photo. The sharp decoder uses it for every JPEG.
 */

export type DraftScale = 1 | 2 | 4 | 8;

/** The decode side's addon (pytorch_infer_jpeg.node). */
interface JpegAddon {
  /** RGB, or CMYK as stored for a CMYK or YCCK JPEG. */
  decode(bytes: Uint8Array, scaleDenom: DraftScale): Promise<RgbImage & { channels: 3 | 4 }>;
  /** glibc's malloc_trim(0) on the libuv pool (native/heap_trim.cc); true if memory went back. */
  trimHeap(): Promise<boolean>;
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

/** Upright RGB pixels of a JPEG, at the scale PIL's draft() would pick. */
export async function decodeWithLibjpeg(jpeg: JpegAddon, bytes: Uint8Array, header: ImageHeader, limits: DecodeLimits): Promise<RgbImage> {
  let image: RgbImage;
  try {
    const decoded = await jpeg.decode(bytes, draftScale(header, limits));
    // PIL reads every CMYK JPEG as inverted (Adobe's convention, "CMYK;I"), then converts.
    const { width, height, data } = decoded;
    image = decoded.channels === 4 ? cmykToRgb(invert(data), width, height) : { width, height, data };
  } catch (e) {
    throw corrupt('JPEG', e);
  }
  // PIL drafts the stored image, then rotates it (ImageOps.exif_transpose).
  return orient(image, jpegOrientation(bytes));
}

function invert(data: Uint8Array): Uint8Array {
  for (let i = 0; i < data.length; i++) data[i] = 255 - data[i];
  return data;
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
