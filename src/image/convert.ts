import type { RgbImage } from './types.js';

/*
 * PIL's convert('RGB') for the pixel layouts decoders hand back, where PIL does something other
 * than the obvious (Pillow's src/libImaging/Convert.c).
 */

/**
 * Drops alpha without compositing onto a background, as PIL does. `transparentColour`, if given,
 * replaces fully transparent pixels: a GIF frame is palette indices in PIL, so its transparent
 * pixels convert to the transparent index's palette colour, where decoders give black.
 */
export function dropAlpha(rgba: Uint8Array, width: number, height: number, transparentColour?: Uint8Array): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; o < data.length; i += 4, o += 3) {
    if (transparentColour !== undefined && rgba[i + 3] === 0) {
      data.set(transparentColour, o);
    } else {
      data[o] = rgba[i];
      data[o + 1] = rgba[i + 1];
      data[o + 2] = rgba[i + 2];
    }
  }
  return { width, height, data };
}

/**
 * 16-bit samples, `stride` per pixel. PIL keeps the high byte of 16-bit colour, but opens 16-bit
 * greyscale as mode I;16, whose conversion clips at 255 instead of scaling (`greyscale`: the
 * first sample of each pixel is that grey value).
 */
export function from16Bit(
  samples: Uint16Array,
  width: number,
  height: number,
  stride: number,
  greyscale: boolean,
): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; o < data.length; i += stride, o += 3) {
    if (greyscale) {
      data.fill(Math.min(samples[i], 255), o, o + 3);
    } else {
      data[o] = samples[i] >> 8;
      data[o + 1] = samples[i + 1] >> 8;
      data[o + 2] = samples[i + 2] >> 8;
    }
  }
  return { width, height, data };
}

/** PIL's naive CMYK → RGB (no colour management): R = (255 − C)(255 − K) / 255 in integers. */
export function cmykToRgb(cmyk: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; o < data.length; i += 4, o += 3) {
    const nk = 255 - cmyk[i + 3];
    for (let c = 0; c < 3; c++) data[o + c] = nk - mulDiv255(cmyk[i + c], nk);
  }
  return { width, height, data };
}

/** a × b / 255 rounded, PIL's MULDIV255. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}
