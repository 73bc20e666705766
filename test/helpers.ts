// Shared test data: the committed photos and what the reference pipeline says about them.
import { readdirSync, readFileSync } from 'node:fs';
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
