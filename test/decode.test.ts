import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { getDecoder, ImageError, readHeader, type ImageErrorCode, type RgbImage } from '../src/image/index.js';
import { gifFirstFrame } from '../src/image/header.js';
import { distance, FORMATS, PHOTOS, pngHeader } from './image-fixtures.js';

const DECODERS = ['jimp', 'sharp'] as const;
const LIMITS = { maxPixels: 40_000_000 };
const PHOTO = 'n01440764_tench.JPEG'; // 500×375, 4:4:4
const photo = () => new Uint8Array(readFileSync(join(PHOTOS, PHOTO)));

/** Bytes that start with no image signature: a fixed pseudo-random sequence. */
function randomBytes(n: number): Uint8Array {
  let state = 0x2545f491;
  return Uint8Array.from({ length: n }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state & 0xff;
  });
}

/** The photo with an EXIF segment (just IFD0 with the Orientation tag) inserted after SOI. */
function withOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  const tiff = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0, 0, 0, 0, 0];
  const payload = [...Buffer.from('Exif\0\0', 'latin1'), ...tiff];
  const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];
  return Buffer.concat([jpeg.subarray(0, 2), Uint8Array.from(app1), jpeg.subarray(2)]);
}

/** Where output pixel (x, y) comes from for each orientation, as PIL's exif_transpose turns it. */
const SOURCE_PIXEL: Record<number, (x: number, y: number, w: number, h: number) => [number, number]> = {
  1: (x, y) => [x, y],
  2: (x, y, w) => [w - 1 - x, y], // FLIP_LEFT_RIGHT
  3: (x, y, w, h) => [w - 1 - x, h - 1 - y], // ROTATE_180
  4: (x, y, _w, h) => [x, h - 1 - y], // FLIP_TOP_BOTTOM
  5: (x, y) => [y, x], // TRANSPOSE
  6: (x, y, _w, h) => [y, h - 1 - x], // ROTATE_270 (90° clockwise)
  7: (x, y, w, h) => [w - 1 - y, h - 1 - x], // TRANSVERSE
  8: (x, y, w) => [w - 1 - y, x], // ROTATE_90 (90° counter-clockwise)
};

async function rejectsWith(promise: Promise<unknown>, code: ImageErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected an ImageError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('bad input gives an ImageError with the right code', () => {
  for (const name of DECODERS) {
    const decoder = getDecoder(name);
    it(`${name}`, async () => {
      const jpeg = photo();
      const cases: [string, Uint8Array, ImageErrorCode, RegExp?][] = [
        ['0 bytes', new Uint8Array(0), 'EMPTY_INPUT', /empty/],
        ['a text file', new TextEncoder().encode('hello, I am not a photo\n'), 'NOT_AN_IMAGE', /not an image/],
        ['random bytes', randomBytes(4096), 'NOT_AN_IMAGE'],
        ['the first half of a JPEG', jpeg.subarray(0, jpeg.length >> 1), 'CORRUPT_IMAGE', /truncated/],
        ['the first 100 bytes of a JPEG', jpeg.subarray(0, 100), 'CORRUPT_IMAGE'],
        ['a PNG claiming 100000×100000', pngHeader(100_000, 100_000), 'TOO_MANY_PIXELS', /100000×100000 = 10000 MP, over the 40 MP limit/],
        ['a PNG claiming 0×10', pngHeader(0, 10), 'CORRUPT_IMAGE'],
        ['a PNG with no pixel data', pngHeader(64, 64), 'CORRUPT_IMAGE'],
      ];
      for (const [, bytes, code, message] of cases) await rejectsWith(decoder.decode(bytes, LIMITS), code, message);
    });
  }

  it('maxPixels applies to real photos too', async () => {
    for (const name of DECODERS) {
      await rejectsWith(getDecoder(name).decode(photo(), { maxPixels: 100_000 }), 'TOO_MANY_PIXELS', /500×375 = 0\.2 MP, over the 0\.1 MP limit/);
    }
  });

  it('jimp has no WebP decoder and says so', async () => {
    const webp = await sharp(photo()).webp().toBuffer();
    await rejectsWith(getDecoder('jimp').decode(webp, LIMITS), 'UNSUPPORTED_FORMAT', /WebP/);
    assert.equal((await getDecoder('sharp').decode(webp, LIMITS)).width, 500);
  });
});

/** Where the photo's first segment with this marker starts (its 0xFF). */
function segment(jpeg: Uint8Array, marker: number): number {
  for (let at = 2; at < jpeg.length; at += 2 + ((jpeg[at + 2] << 8) | jpeg[at + 3])) {
    if (jpeg[at + 1] === marker) return at;
  }
  throw new Error(`no segment with marker ${marker.toString(16)}`);
}

/** Where the photo's entropy-coded data starts: after its SOS segment. */
function scanData(jpeg: Uint8Array): number {
  const sos = segment(jpeg, 0xda);
  return sos + 2 + ((jpeg[sos + 2] << 8) | jpeg[sos + 3]);
}

/** A copy of the photo with bytes from `at` replaced. */
function edited(jpeg: Uint8Array, at: number, ...bytes: number[]): Uint8Array {
  const copy = jpeg.slice();
  copy.set(bytes, at);
  return copy;
}

describe('corrupt JPEG data is taken as libjpeg (and so PIL) takes it', () => {
  const jpeg = photo();
  const scan = scanData(jpeg);
  const at = (share: number) => scan + Math.floor((jpeg.length - scan) * share);
  const damaged: [string, Uint8Array][] = [
    // Bytes without 0xFF: Huffman codes that decode to nonsense or to no code at all.
    ['64 bytes of the scan overwritten', Buffer.concat([jpeg.subarray(0, at(0.4)), new Uint8Array(64).fill(0xa5), jpeg.subarray(at(0.4) + 64)])],
    // A marker in the scan: libjpeg reads zeros from there, then finds the marker.
    ['an end-of-image marker in the middle of the scan', Buffer.concat([jpeg.subarray(0, at(0.6)), Uint8Array.of(0xff, 0xd9)])],
    ['another file after the end-of-image marker', Buffer.concat([jpeg, readFileSync(join(FORMATS, 'base.png'))])],
  ];
  for (const [what, bytes] of damaged) {
    it(`${what}: both decoders accept it, with the same pixels but where the damage starts`, async () => {
      const [jimp, viaLibjpeg] = await Promise.all(DECODERS.map((name) => getDecoder(name).decode(bytes, LIMITS)));
      assert.deepEqual([jimp.width, jimp.height], [500, 375]);
      assert.deepEqual([viaLibjpeg.width, viaLibjpeg.height], [500, 375]);
      // jpeg-js's IDCT is within a level of libjpeg's on a sound photo (test/preprocess.test.ts);
      // the block where the damage starts decodes differently (here 43 and 23 pixels).
      const { mean } = distance(jimp.data, viaLibjpeg.data);
      const off = jimp.data.filter((v, i) => Math.abs(v - viaLibjpeg.data[i]) > 4).length;
      assert.ok(mean < 0.5 && off <= 64 * 3, `jimp vs libjpeg: mean |Δ| ${mean.toFixed(3)}; ${off} samples off by more than 4 levels`);
    });
  }

  // PIL's verdicts on these files: "image file is truncated", "broken data stream".
  const refused: [string, Uint8Array, RegExp][] = [
    ['a scan that ends before the image does', jpeg.subarray(0, at(0.6)), /truncated/],
    ['no end-of-image marker, nothing after the last block', jpeg.subarray(0, -2), /truncated/],
    ['another file where the end-of-image marker was (an unknown marker in it)', Buffer.concat([jpeg.subarray(0, -2), readFileSync(join(FORMATS, 'base.png'))]), /marker/],
  ];
  // Segments libjpeg checks before the first scan (jpeg-js does not): header edits that PIL
  // refuses ("cannot identify image file", "broken data stream").
  const sof = segment(jpeg, 0xc0);
  const sos = segment(jpeg, 0xda);
  const dht = segment(jpeg, 0xc4);
  refused.push(
    ['12-bit samples', edited(jpeg, sof + 4, 12), /12-bit samples/],
    ['a sampling factor of 5', edited(jpeg, sof + 11, 0x51), /sampling factors 5×1/],
    ['a frame header one byte too long', edited(jpeg, sof + 3, jpeg[sof + 3] + 1), /frame header is 18 bytes long, not 17/],
    ['a scan header one byte too short', edited(jpeg, sos + 3, jpeg[sos + 3] - 1), /scan header \(SOS\) is 11 bytes long for 3 components/],
    ['a scan of a component the frame does not have', edited(jpeg, sos + 5, 9), /component the frame does not have/],
    ['a Huffman table segment with a byte over', Buffer.concat([edited(jpeg.subarray(0, dht + 4), dht + 3, jpeg[dht + 3] + 1), jpeg.subarray(dht + 4, dht + 2 + jpeg[dht + 3]), Uint8Array.of(0), jpeg.subarray(dht + 2 + jpeg[dht + 3])]), /1 byte over/],
  );
  for (const [what, bytes, message] of refused) {
    it(`${what}: both decoders refuse it`, async () => {
      for (const name of DECODERS) await rejectsWith(getDecoder(name).decode(bytes, LIMITS), 'CORRUPT_IMAGE', name === 'jimp' ? message : undefined);
    });
  }
});

describe('jimp reads GIF and PNG as far as PIL does', () => {
  const jimp = getDecoder('jimp');
  const gif = new Uint8Array(readFileSync(join(FORMATS, 'animated.gif')));
  const png = new Uint8Array(readFileSync(join(FORMATS, 'base.png')));
  // The first frame's LZW data: after its descriptor, local colour table and code size byte.
  const frame = gifFirstFrame(gif)!;
  const lzw = frame + 10 + (gif[frame + 9] & 0x80 ? 3 << ((gif[frame + 9] & 7) + 1) : 0) + 1;
  let firstFrameEnd = lzw;
  while (gif[firstFrameEnd] !== 0) firstFrameEnd += gif[firstFrameEnd] + 1;

  // PIL 12.3's verdicts on each file, checked with bench/fuzz's venv when this test was written.
  it('a GIF cut in its second frame: accepted (PIL decodes the first frame only)', async () => {
    const cut = gif.subarray(0, firstFrameEnd + Math.floor((gif.length - firstFrameEnd) / 2));
    const whole = await jimp.decode(gif, LIMITS);
    assert.deepEqual(await jimp.decode(cut, LIMITS), whole);
  });

  it('a GIF whose first frame has codes past its table: refused (PIL: "broken data stream")', async () => {
    const bad = gif.slice();
    bad.fill(0xff, lzw + 21, lzw + 61); // inside the first sub-block
    await rejectsWith(jimp.decode(bad, LIMITS), 'CORRUPT_IMAGE', /LZW data has code \d+ where at most \d+ can come/);
  });

  it('a GIF whose first frame ends early: refused (PIL: "image file is truncated")', async () => {
    const short = Buffer.concat([gif.subarray(0, lzw + 1 + gif[lzw]), Uint8Array.of(0, 0x3b)]);
    await rejectsWith(jimp.decode(short, LIMITS), 'CORRUPT_IMAGE', /data ends after \d+ of its 75840 pixels/);
  });

  it('a PNG with a damaged IEND or junk after its image data: accepted, the same pixels', async () => {
    const whole = await jimp.decode(png, LIMITS);
    const iend = png.slice();
    iend.fill(0xff, png.length - 12, png.length - 8); // its length
    const junk = Buffer.concat([png.subarray(0, png.length - 12), Buffer.from('junk, not a chunk')]);
    for (const bytes of [iend, junk]) assert.deepEqual(await jimp.decode(bytes, LIMITS), whole);
  });
});

describe('readHeader', () => {
  it('reads sizes without decoding', async () => {
    const jpeg = photo();
    const png = await sharp(jpeg).png().toBuffer();
    const gif = await sharp(jpeg).gif().toBuffer();
    const tiff = await sharp(jpeg).tiff().toBuffer();
    const webp = await sharp(jpeg).webp().toBuffer();
    const lossless = await sharp(jpeg).webp({ lossless: true }).toBuffer();
    for (const [format, bytes] of [['jpeg', jpeg], ['png', png], ['gif', gif], ['tiff', tiff], ['webp', webp], ['webp', lossless]] as const) {
      assert.deepEqual(readHeader(bytes), { format, width: 500, height: 375 });
    }
    assert.deepEqual(readHeader(pngHeader(100_000, 100_000)), { format: 'png', width: 100_000, height: 100_000 });
  });
});

describe('EXIF orientation is applied once, as PIL does', () => {
  for (const name of DECODERS) {
    it(`${name}: all eight orientations`, async () => {
      const decoder = getDecoder(name);
      const jpeg = photo();
      const upright = await decoder.decode(jpeg, LIMITS);
      for (let orientation = 1; orientation <= 8; orientation++) {
        const turned = await decoder.decode(withOrientation(jpeg, orientation), LIMITS);
        assert.deepEqual(turned.data, expectedPixels(upright, orientation).data, `orientation ${orientation}`);
      }
    });
  }
});

function expectedPixels(src: RgbImage, orientation: number): RgbImage {
  const swap = orientation >= 5;
  const width = swap ? src.height : src.width;
  const height = swap ? src.width : src.height;
  const data = new Uint8Array(src.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = SOURCE_PIXEL[orientation](x, y, src.width, src.height);
      data.set(src.data.subarray((sy * src.width + sx) * 3, (sy * src.width + sx) * 3 + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data };
}
