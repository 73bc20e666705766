// Shared test data: the committed photos and what the reference pipeline says about them.
import { readdirSync, readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { packagePath } from '../src/paths.js';

export const PHOTOS_DIR = packagePath('test', 'fixtures', 'imagenet-sample-100');
export const SAMPLES_DIR = packagePath('samples');

const synsets = readFileSync(packagePath('test', 'fixtures', 'imagenet-sample-100', 'imagenet-synsets.txt'), 'utf8').trim().split('\n');

/** ImageNet class index of a photo named like n01530575_brambling.JPEG. */
export function trueIndex(file: string): number {
  const index = synsets.indexOf(file.split('/').pop()!.split('_')[0]);
  if (index < 0) throw new Error(`no synset in file name ${file}`);
  return index;
}

export const photos = (dir = PHOTOS_DIR) => readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => `${dir}/${f}`);

/** A valid PNG signature and IHDR that claims width×height, with no pixel data to speak of. */
export function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type), data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}
