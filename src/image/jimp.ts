import { dropAlpha, from16Bit } from './convert.js';
import { corrupt, ImageError } from './errors.js';
import { checkGifCodes, gifFirstFrameOnly } from './gif.js';
import { checkHeader, gifTransparentColour, type ImageFormat } from './header.js';
import { pngUpToImageData } from './png.js';
import { decodeJpeg } from './jpeg.js';
import type { Decoder } from './types.js';

/*
 * Pure-JS decoding (jpeg-js, pngjs, omggif, bmp-ts, utif2, all from jimp): no native code, so it
 * runs wherever Node does. JPEGs go through ./jpeg.ts, which gets closer to PIL than Jimp's own
 * JPEG path and applies the EXIF orientation itself (Jimp.fromBuffer would rotate as well).
 * Jimp reads no EXIF orientation from other formats, so neither do we here.
 */

/** Jimp and its codecs load at the first photo that needs them: the import costs ~0.1 s, which every start (and every sharp worker) paid. */
let jimp: Promise<typeof import('jimp')> | undefined;

export const jimpDecoder: Decoder = {
  name: 'jimp',
  async decode(bytes, limits) {
    const { format } = checkHeader(bytes, limits);
    if (format === 'webp') {
      throw new ImageError('UNSUPPORTED_FORMAT', 'WebP images are not supported by the jimp decoder; use sharp');
    }
    try {
      if (format === 'jpeg') return decodeJpeg(bytes, limits.maxPixels);
      const sixteenBit = format === 'png' && bytes[24] === 16; // IHDR bit depth
      const { Jimp } = await (jimp ??= import('jimp'));
      const { bitmap } = await Jimp.fromBuffer(asPilReadsIt(format, bytes), {
        // Keep pngjs from scaling 16-bit samples to 8 bits (as round(v / 257), unlike PIL).
        'image/png': { skipRescale: sixteenBit },
      });
      const { width, height } = bitmap;
      if (sixteenBit) {
        // pngjs then returns RGBA as 16-bit samples, which Jimp's types do not know about.
        const greyscale = bytes[25] === 0; // IHDR colour type
        return from16Bit(bitmap.data as unknown as Uint16Array, width, height, 4, greyscale);
      }
      return dropAlpha(bitmap.data, width, height, format === 'gif' ? gifTransparentColour(bytes) : undefined);
    } catch (e) {
      throw corrupt(format.toUpperCase(), e);
    }
  },
};

/**
 * What jimp is given, so that it accepts and refuses what PIL does: PIL reads a GIF's first frame
 * only, and a PNG only up to the end of its image data (./gif.ts, ./png.ts).
 */
function asPilReadsIt(format: ImageFormat, bytes: Uint8Array): Buffer {
  const buffer = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (format) {
    case 'bmp':
      return withoutPalette(bytes);
    case 'gif':
      checkGifCodes(bytes);
      return buffer(gifFirstFrameOnly(bytes));
    case 'png':
      return buffer(pngUpToImageData(bytes));
    default:
      return buffer(bytes);
  }
}

/**
 * A BMP of more than 8 bits a pixel has no palette, whatever its colour count says: PIL ignores
 * the count; bmp-ts builds a palette of that many entries, so it gets a copy with the count 0.
 */
function withoutPalette(bmp: Uint8Array): Buffer {
  const copy = Buffer.from(bmp);
  if (copy.length >= 50 && copy.readUInt32LE(14) >= 40 && copy.readUInt16LE(28) > 8) copy.writeUInt32LE(0, 46);
  return copy;
}
