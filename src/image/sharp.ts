import type { Sharp, SharpConstructor } from 'sharp';
import { cmykToRgb, dropAlpha, from16Bit } from './convert.js';
import { corrupt } from './errors.js';
import { checkHeader, gifTransparentColour, type ImageHeader, jpegComponents } from './header.js';
import { jimpDecoder } from './jimp.js';
import { jpegOrientation } from './jpeg.js';
import { decodeWithLibjpeg, draftScale, libjpeg } from './libjpeg.js';
import type { DecodeLimits, Decoder, RgbImage } from './types.js';

/*
 * Native decoding with the libraries PIL uses: libjpeg-turbo directly for JPEG (./libjpeg.ts),
 * libvips (libpng, libwebp, libtiff, …) for the rest: several times faster than jimp and, for
 * JPEG, the same decoder as PIL. Only the decode is native; the resize is ours, so both decoders
 * give the same tensor for the same pixels.
 */

export const sharpDecoder: Decoder = {
  name: 'sharp',
  async decode(bytes, limits) {
    const header = checkHeader(bytes, limits);
    // libvips has no BMP loader; BMP is plain pixels, which jimp reads exactly as PIL does.
    if (header.format === 'bmp') return jimpDecoder.decode(bytes, limits);
    const jpeg = header.format === 'jpeg' ? libjpeg() : null;
    return jpeg ? decodeWithLibjpeg(jpeg, bytes, header, limits) : decodeWithLibvips(bytes, header, limits);
  },
};

/** Every format but BMP; JPEG where the libjpeg addon is not there to decode it. */
export async function decodeWithLibvips(bytes: Uint8Array, header: ImageHeader, limits: DecodeLimits): Promise<RgbImage> {
  const { format } = header;
  const sharp = await loadSharp();
  try {
    if (format !== 'jpeg') return await decodeWith(sharp, bytes, header, limits, 'error');
    try {
      return await decodeWith(sharp, bytes, header, limits, 'warning');
    } catch (e) {
      if (PIL_REFUSES.test((e as Error).message)) throw e;
      return await decodeWith(sharp, bytes, header, limits, 'error');
    }
  } catch (e) {
    throw corrupt(format.toUpperCase(), e);
  }
}

/**
 * Which corrupt JPEGs to accept follows PIL (what PIL decodes, we decode). The libjpeg addon follows
 * it exactly (native/jpeg_decoder.cc: 99.8 % of fuzzed JPEGs); libvips, where the addon is missing,
 * cannot say whether the data ran out before the last row, so this approximates it: libjpeg's fatal
 * errors stop both, and of its warnings, PIL refuses most photos where the scan stops at a marker
 * before its end ("premature end of data segment": 206 of 282 fuzzed inputs with it) and accepts
 * the others (bad Huffman codes, extraneous bytes: 46 of 52), bench/results/fuzz.md. A clean JPEG
 * decodes once; one with a warning twice, the second time past the warning.
 */
const PIL_REFUSES = /premature end of data segment/;

/** `failOn`: 'error' stops at truncated or broken data; 'warning' at any libjpeg warning too. */
async function decodeWith(sharp: SharpConstructor, bytes: Uint8Array, header: ImageHeader, limits: DecodeLimits, failOn: 'error' | 'warning'): Promise<RgbImage> {
  const { format } = header;
  const image = sharp(bytes, {
    limitInputPixels: limits.maxPixels,
    failOn,
    ignoreIcc: true, // PIL ignores colour profiles
    autoOrient: true,
  });
  // A JPEG's frame header says all we need; asking libvips (metadata()) costs a second
  // pipeline per photo, 0.6 ms of the 3.5 a 500×375 JPEG took.
  const { space, channels, depth } =
    format === 'jpeg' ? { space: jpegComponents(bytes) === 4 ? 'cmyk' : 'srgb', channels: 3, depth: 'uchar' } : await image.metadata();
  if (space === 'cmyk') {
    // Skip libvips's ICC-managed CMYK conversion and do PIL's arithmetic one.
    const { data, info } = await image
      .pipelineColourspace('cmyk')
      .toColourspace('cmyk')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return cmykToRgb(data, info.width, info.height);
  }
  if (depth === 'ushort' && channels === 1) {
    // PIL's mode I;16, which it converts to RGB by clipping rather than scaling.
    const { data, info } = await image
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    const samples = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    return from16Bit(samples, info.width, info.height, 1, true);
  }
  if (format === 'gif') return await gifFrame(image, gifTransparentColour(bytes));
  if (format === 'jpeg') draft(image, header, bytes, limits);
  const { data, info } = await image.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  // A plain Uint8Array view, like the other paths return, keeps the resize loops monomorphic.
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { width: info.width, height: info.height, data: pixels };
}

/**
 * libvips decodes at s / 2 of PIL's draft scale s with libjpeg's DCT scaling (sharp asks libjpeg for
 * no more, to avoid its rounding) and reduces the last 2× with a Catmull-Rom filter, which is closest
 * to libjpeg's scaled IDCT of the filters sharp offers (measured on 24 large photos, mean |Δ| from
 * PIL's tensor: cubic 0.0066, lanczos2 0.0066, lanczos3 0.0092, linear 0.013, where a full decode is
 * 0.0115 away).
 */
function draft(image: Sharp, header: ImageHeader, bytes: Uint8Array, limits: DecodeLimits): void {
  const scale = draftScale(header, limits);
  if (scale === 1) return;
  const [w, h] = [Math.ceil(header.width / scale), Math.ceil(header.height / scale)];
  // sharp's target is in the upright orientation; PIL drafts the stored image, then rotates it.
  const turned = jpegOrientation(bytes) >= 5;
  image.resize({ width: turned ? h : w, height: turned ? w : h, fit: 'fill', kernel: 'cubic' });
}

/** The first frame; transparent pixels take the colour PIL gives them. */
async function gifFrame(image: Sharp, transparentColour: Uint8Array | undefined): Promise<RgbImage> {
  const { data, info } = await image.ensureAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return dropAlpha(data, info.width, info.height, transparentColour);
}

// Loaded on first use: jimp-only installs and images need not carry libvips.
let sharpModule: Promise<SharpConstructor> | undefined;
async function loadSharp(): Promise<SharpConstructor> {
  sharpModule ??= import('sharp').then(({ default: sharp }) => {
    // One photo is one libvips pipeline on one thread: the decode workers are the parallelism,
    // and a cache of past operations never hits for photos that each arrive once.
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  }).catch((err: Error) => {
    sharpModule = undefined;
    throw new Error(`the sharp decoder is not available (install the package sharp, or use --decoder jimp): ${err.message.split('\n')[0]}`);
  });
  return sharpModule;
}
