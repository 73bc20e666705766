import { crc32 } from 'node:zlib';
import { ImageError, tooManyPixels } from './errors.js';
import type { DecodeLimits } from './types.js';

/*
 * Format sniffing and pixel dimensions straight from the file header, so that non-images and
 * oversized images are refused in microseconds, before a decoder allocates anything.
 */

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'bmp' | 'tiff' | 'webp';

/** Dimensions as stored, before any EXIF rotation. */
export interface ImageHeader {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
}

/** Reads the header and enforces `limits`; throws ImageError for anything that should not be decoded. */
export function checkHeader(bytes: Uint8Array, limits: DecodeLimits): ImageHeader {
  const header = readHeader(bytes);
  if (header.width * header.height > limits.maxPixels) {
    throw tooManyPixels(header.width, header.height, limits.maxPixels);
  }
  return header;
}

export function readHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length === 0) throw new ImageError('EMPTY_INPUT', 'Input is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (format === undefined) {
    const other = sniffUnsupported(bytes);
    if (other !== undefined) throw new ImageError('UNSUPPORTED_FORMAT', `${other} images are not supported`);
    throw new ImageError(
      'NOT_AN_IMAGE',
      'Input is not an image: its first bytes match none of JPEG, PNG, GIF, BMP, TIFF, WebP',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let size: [width: number, height: number] | undefined;
  try {
    size = SIZE_READERS[format](view, bytes);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e; // DataView read past the end
  }
  if (size === undefined) {
    throw new ImageError('CORRUPT_IMAGE', `Corrupt or truncated ${format.toUpperCase()} image: no readable header`);
  }
  const [width, height] = size;
  if (!(width > 0 && height > 0)) {
    throw new ImageError('CORRUPT_IMAGE', `Corrupt ${format.toUpperCase()} image: header says ${width}×${height}`);
  }
  return { format, width, height };
}

function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  if (starts(b, 0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return 'gif';
  if (ascii(b, 0, 'BM') && BMP_HEADER_SIZES.has(b[14] | (b[15] << 8))) return 'bmp';
  if (starts(b, 0, [0x49, 0x49, 42, 0]) || starts(b, 0, [0x4d, 0x4d, 0, 42])) return 'tiff';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'webp';
  return undefined;
}

/** The DIB header sizes of the BMP versions, to tell a BMP from text that starts with "BM". */
const BMP_HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

/** Images we recognise but do not decode, so the error can say so rather than "not an image". */
function sniffUnsupported(b: Uint8Array): string | undefined {
  if (ascii(b, 4, 'ftyp')) return 'HEIF/AVIF';
  if (starts(b, 0, [0x49, 0x49, 43, 0]) || starts(b, 0, [0x4d, 0x4d, 0, 43])) return 'BigTIFF';
  if (ascii(b, 0, '8BPS')) return 'Photoshop';
  if (starts(b, 0, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || starts(b, 0, [0xff, 0x4f, 0xff, 0x51])) return 'JPEG 2000';
  if (starts(b, 0, [0xff, 0x0a]) || ascii(b, 4, 'JXL ')) return 'JPEG XL';
  return undefined;
}

type SizeReader = (v: DataView, b: Uint8Array) => [number, number] | undefined;

const SIZE_READERS: Record<ImageFormat, SizeReader> = {
  // The frame header (SOFn) comes after the EXIF and ICC segments.
  jpeg(v) {
    for (const { marker, start } of jpegSegments(v)) {
      if (isStartOfFrame(marker)) return [v.getUint16(start + 3), v.getUint16(start + 1)];
    }
    return undefined;
  },
  png(v, b) {
    if (!ascii(b, 12, 'IHDR')) return undefined;
    checkPngChunks(v, b);
    return [v.getUint32(16), v.getUint32(20)];
  },
  // The logical screen, onto which PIL composes the first frame, grown to that frame's extent as
  // PIL grows it: a decoder walks every pixel of a 20000×20000 frame on a 16×16 screen (jimp: 24 s).
  gif(v, b) {
    const screen: [number, number] = [v.getUint16(6, true), v.getUint16(8, true)];
    const at = gifFirstFrame(b);
    if (at === undefined || at + 9 > b.length) return screen;
    const right = v.getUint16(at + 1, true) + v.getUint16(at + 5, true);
    const bottom = v.getUint16(at + 3, true) + v.getUint16(at + 7, true);
    return [Math.max(screen[0], right), Math.max(screen[1], bottom)];
  },
  bmp(v) {
    // BITMAPCOREHEADER (OS/2) has 16-bit sizes; the later headers signed 32-bit, negative height = top-down.
    if (v.getUint32(14, true) === 12) return [v.getUint16(18, true), v.getUint16(20, true)];
    // PIL's limit on a palette; bmp-ts would build an object per claimed entry (2^32: the heap).
    const colours = v.getUint32(46, true);
    if (v.getUint16(28, true) <= 8 && colours > 65536) throw new ImageError('CORRUPT_IMAGE', `Corrupt BMP image: its palette claims ${colours} colours`);
    return [v.getInt32(18, true), Math.abs(v.getInt32(22, true))];
  },
  tiff(v) {
    const le = v.getUint8(0) === 0x49;
    const ifd = v.getUint32(4, le);
    const tags = new Map<number, number[]>();
    for (let i = 0, n = v.getUint16(ifd, le); i < n; i++) {
      const e = ifd + 2 + i * 12;
      const tag = v.getUint16(e, le);
      if (TIFF_TAGS.has(tag)) tags.set(tag, tiffValues(v, e, le));
    }
    const [width] = tags.get(256) ?? [];
    const [height] = tags.get(257) ?? [];
    // Some TIFF decoders read past a truncated file as zeros; PIL and libtiff refuse it.
    const offsets = tags.get(273) ?? tags.get(324) ?? [];
    const lengths = tags.get(279) ?? tags.get(325) ?? [];
    const end = offsets.reduce((max, offset, i) => Math.max(max, offset + (lengths[i] ?? 0)), 0);
    if (end > v.byteLength) {
      const message = `Truncated TIFF image: its pixel data ends at byte ${end}, the input has ${v.byteLength}`;
      throw new ImageError('CORRUPT_IMAGE', message);
    }
    return width !== undefined && height !== undefined ? [width, height] : undefined;
  },
  webp(v, b) {
    if (ascii(b, 12, 'VP8 ')) return [v.getUint16(26, true) & 0x3fff, v.getUint16(28, true) & 0x3fff];
    if (ascii(b, 12, 'VP8L')) {
      const bits = v.getUint32(21, true);
      return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
    }
    if (ascii(b, 12, 'VP8X')) return [uint24(v, 24) + 1, uint24(v, 27) + 1];
    return undefined;
  },
};

/**
 * PIL checks the CRC of every chunk before the pixel data (IDAT) and refuses the file if one is
 * wrong; libpng and pngjs only warn, and would decode a flipped width or palette.
 */
function checkPngChunks(v: DataView, b: Uint8Array): void {
  for (let p = 8; p + 12 <= b.length; ) {
    const length = v.getUint32(p);
    const type = String.fromCharCode(...b.subarray(p + 4, p + 8));
    if (type === 'IDAT' || type === 'IEND' || p + 12 + length > b.length) return;
    if (crc32(b.subarray(p + 4, p + 8 + length)) !== v.getUint32(p + 8 + length)) {
      throw new ImageError('CORRUPT_IMAGE', `Corrupt PNG image: the checksum of its ${JSON.stringify(type)} chunk is wrong`);
    }
    p += 12 + length;
  }
}

/** RGB of the first frame's transparent palette index, read from the GIF blocks before it. */
export function gifTransparentColour(gif: Uint8Array): Uint8Array | undefined {
  const tableSize = (flags: number) => 3 << ((flags & 7) + 1);
  let palette = gif[10] & 0x80 ? gif.subarray(13, 13 + tableSize(gif[10])) : undefined;
  let transparent: number | undefined;
  const at = gifFirstFrame(gif, (p) => {
    // Graphic control extension: flags, delay, index.
    if (gif[p + 1] === 0xf9 && gif[p + 3] & 1) transparent = gif[p + 6];
  });
  if (at === undefined) return undefined;
  // The frame's own (local) colour table, if any, follows its descriptor.
  const flags = gif[at + 9];
  if (flags & 0x80) palette = gif.subarray(at + 10, at + 10 + tableSize(flags));
  if (palette === undefined || transparent === undefined) return undefined;
  return palette.subarray(transparent * 3, transparent * 3 + 3);
}

/** Where the first image descriptor of a GIF starts, each extension before it shown to `extension`. */
export function gifFirstFrame(gif: Uint8Array, extension?: (at: number) => void): number | undefined {
  let p = 13 + (gif[10] & 0x80 ? 3 << ((gif[10] & 7) + 1) : 0);
  while (p < gif.length) {
    if (gif[p] === 0x2c) return p;
    if (gif[p] !== 0x21) return undefined;
    extension?.(p);
    // Extension: label, then sub-blocks until an empty one.
    p += 2;
    while (p < gif.length && gif[p] !== 0) p += gif[p] + 1;
    p++;
  }
  return undefined;
}

/** A JPEG marker segment: the marker's second byte and where its payload starts and ends. */
export interface JpegSegment {
  readonly marker: number;
  readonly start: number;
  readonly end: number;
}

/**
 * The marker segments of a JPEG up to the first scan's header (SOS), after which the
 * entropy-coded data begins. Throws RangeError if the data ends first.
 */
export function* jpegSegments(v: DataView): Generator<JpegSegment> {
  let p = 2; // after SOI
  for (;;) {
    const marker = v.getUint8(p + 1);
    if (v.getUint8(p) !== 0xff || marker === 0xff) {
      p++; // fill byte, or garbage that libjpeg skips too (with a warning)
    } else if (marker === 0xd9) {
      return; // EOI
    } else if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      p += 2; // standalone marker, no payload
    } else {
      const start = p + 4;
      const end = p + 2 + v.getUint16(p + 2);
      if (end > v.byteLength) throw new RangeError('JPEG segment runs past the end of the data');
      yield { marker, start, end };
      if (marker === 0xda) return; // SOS
      p = end;
    }
  }
}

/** Components of a JPEG's frame (1 grey, 3 YCbCr or RGB, 4 CMYK or YCCK); 0 if no frame header is found. */
export function jpegComponents(bytes: Uint8Array): number {
  try {
    for (const { marker, start } of jpegSegments(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
      if (isStartOfFrame(marker)) return bytes[start + 5] ?? 0;
    }
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  return 0;
}

/** SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
export function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Width, height, and where the strips or tiles are and how long: offsets 273/324, lengths 279/325. */
const TIFF_TAGS = new Set([256, 257, 273, 279, 324, 325]);

/** The SHORT or LONG values of a TIFF IFD entry, inline if they fit in 4 bytes. */
function tiffValues(v: DataView, entry: number, le: boolean): number[] {
  const short = v.getUint16(entry + 2, le) === 3;
  const count = v.getUint32(entry + 4, le);
  const size = short ? 2 : 4;
  const at = count * size <= 4 ? entry + 8 : v.getUint32(entry + 8, le);
  if (at + count * size > v.byteLength) throw new RangeError('TIFF values past the end of the data');
  const value = (i: number) => (short ? v.getUint16(at + i * size, le) : v.getUint32(at + i * size, le));
  return Array.from({ length: count }, (_, i) => value(i));
}

function uint24(v: DataView, p: number): number {
  return v.getUint8(p) | (v.getUint8(p + 1) << 8) | (v.getUint8(p + 2) << 16);
}

function starts(b: Uint8Array, at: number, magic: readonly number[]): boolean {
  return b.length >= at + magic.length && magic.every((m, i) => b[at + i] === m);
}

function ascii(b: Uint8Array, at: number, text: string): boolean {
  return starts(b, at, Array.from(text, (c) => c.charCodeAt(0)));
}
