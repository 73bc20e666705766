// Test data for the image pipeline: committed photos and PIL's tensors for them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { RgbImage } from '../src/image/index.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
export const PHOTOS = join(FIXTURES, 'imagenet-sample-100');
/** <photo stem>.f32: the torchvision/PIL tensor of that photo. */
export const TENSORS = join(FIXTURES, 'reference', 'tensors');
/** One file per input format, described by manifest.json. */
export const FORMATS = join(FIXTURES, 'reference', 'formats');

const TENSOR_LENGTH = 3 * 224 * 224;

export function referenceTensors(): string[] {
  return existsSync(TENSORS) ? readdirSync(TENSORS).filter((f) => /^n\d{8}_.*\.f32$/.test(f)).sort() : [];
}

export function readTensor(path: string): Float32Array {
  const buf = readFileSync(path);
  assert.equal(buf.length, TENSOR_LENGTH * 4, `${path} is not a 3×224×224 float32 tensor`);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

/** Mean and largest |a[i] − b[i]| of two equally long arrays (tensors, logits). */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** A PNG signature and IHDR claiming width×height, followed by a token IDAT. */
export function pngHeader(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([length, Buffer.from(type), data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(16))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A deterministic test card: PIL's resizes of it are committed as hex in the resize tests. */
export function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + x * y * 11) % 256;
    }
  }
  return { width, height, data };
}
