// Seeded mutations of real image files: the same seed gives the same inputs on every machine, so a
// failing input can be made again from its number alone.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packagePath } from '../../src/paths.js';

/** A file the mutations start from. */
export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export type MutationKind = 'bit flips' | 'truncation' | 'header field' | 'splice' | 'inserted run';
export const MUTATION_KINDS: readonly MutationKind[] = ['bit flips', 'truncation', 'header field', 'splice', 'inserted run'];

export interface FuzzInput {
  readonly index: number;
  readonly seed: string;
  readonly kind: MutationKind;
  readonly bytes: Uint8Array;
}

/** PIL's verdicts on the inputs test/fuzz.test.ts sends: `ok[i]` is [width, height] if PIL decodes input i, else 0. */
export const TEST_FIXTURE = packagePath('test', 'fixtures', 'fuzz-pil-verdicts.json');
export const TEST_FIXTURE_SEED = 1;
export const TEST_FIXTURE_INPUTS = 1000;

/** Which inputs these are: the fixture is stale once the seeds or the mutations change. */
export function inputsDigest(inputs: readonly FuzzInput[]): string {
  const hash = createHash('sha256');
  for (const input of inputs) hash.update(input.bytes);
  return hash.digest('hex');
}

/** Every format fixture (test/fixtures/reference/formats) and the sample photos. */
export function fuzzSeeds(): Seed[] {
  const dirs = [packagePath('test', 'fixtures', 'reference', 'formats'), packagePath('samples')];
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => /\.(jpe?g|png|gif|bmp|tiff?|webp)$/i.test(f))
      .sort()
      .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) })),
  );
}

/** mulberry32: small, fast, and good enough to pick offsets. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Input `index` of the run `seed`: a seed file, a kind of mutation (in turn), and its random choices. */
export function fuzzInput(seeds: readonly Seed[], seed: number, index: number): FuzzInput {
  const next = random(seed * 1_000_003 + index);
  const int = (n: number) => Math.floor(next() * n);
  const base = seeds[index % seeds.length];
  const kind = MUTATION_KINDS[Math.floor(index / seeds.length) % MUTATION_KINDS.length];
  const src = base.bytes;
  let bytes: Uint8Array;
  switch (kind) {
    case 'bit flips': {
      bytes = src.slice();
      // Mostly in the headers, where a flip changes what the decoder does rather than one pixel.
      for (let n = 1 + int(16); n > 0; n--) {
        const at = next() < 0.5 ? int(Math.min(bytes.length, 1024)) : int(bytes.length);
        bytes[at] ^= 1 << int(8);
      }
      break;
    }
    case 'truncation':
      bytes = src.slice(0, int(src.length));
      break;
    case 'header field':
      bytes = editHeaderField(src, next);
      break;
    case 'splice': {
      const other = seeds[int(seeds.length)].bytes;
      bytes = concat(src.subarray(0, int(src.length)), other.subarray(int(other.length)));
      break;
    }
    case 'inserted run': {
      const at = int(src.length);
      const run = new Uint8Array(1 + int(4096));
      if (next() < 0.5) run.fill(int(256));
      else for (let i = 0; i < run.length; i++) run[i] = int(256);
      bytes = concat(src.subarray(0, at), run, src.subarray(at));
      break;
    }
  }
  return { index, seed: base.name, kind, bytes };
}

/**
 * Overwrites one field the decoder sizes its work by (width, height, bit depth, a length, a
 * count) with a boundary value or a random one: 0, 1, all ones, or sizes up to past the pixel
 * limit. The fields are found by format; any other file gets a random header word.
 */
function editHeaderField(src: Uint8Array, next: () => number): Uint8Array {
  const bytes = src.slice();
  const view = new DataView(bytes.buffer);
  const fields = headerFields(bytes, view);
  const field = fields.length ? fields[Math.floor(next() * fields.length)] : { at: Math.floor(next() * Math.min(64, bytes.length - 4)), size: 2 as const, le: false };
  const max = field.size === 4 ? 0xffffffff : field.size === 2 ? 0xffff : 0xff;
  const r = next();
  const value = r < 0.15 ? 0 : r < 0.3 ? 1 : r < 0.45 ? max : r < 0.75 ? Math.min(max, 1000 + Math.floor(next() * 9000)) : Math.floor(next() * (max + 1));
  if (field.at + field.size > bytes.length) return bytes;
  if (field.size === 4) view.setUint32(field.at, value, field.le);
  else if (field.size === 2) view.setUint16(field.at, value, field.le);
  else view.setUint8(field.at, value);
  return bytes;
}

interface Field {
  readonly at: number;
  readonly size: 1 | 2 | 4;
  readonly le: boolean;
}

function headerFields(b: Uint8Array, v: DataView): Field[] {
  const be = (at: number, size: 1 | 2 | 4) => ({ at, size, le: false });
  const le = (at: number, size: 1 | 2 | 4) => ({ at, size, le: true });
  if (b[0] === 0xff && b[1] === 0xd8) {
    // Every segment's length; the frame header's precision, height, width, components, sampling.
    const fields: Field[] = [];
    for (let p = 2; p + 4 <= b.length && fields.length < 64; ) {
      if (b[p] !== 0xff) break;
      const marker = b[p + 1];
      if (marker === 0xda) {
        fields.push(be(p + 2, 2), be(p + 4, 1));
        break;
      }
      const length = v.getUint16(p + 2);
      fields.push(be(p + 2, 2));
      if (marker >= 0xc0 && marker <= 0xc2) fields.push(be(p + 4, 1), be(p + 5, 2), be(p + 7, 2), be(p + 9, 1), be(p + 11, 1));
      p += 2 + length;
    }
    return fields;
  }
  if (b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    // IHDR width, height, depth, colour type, interlace; then each chunk's length.
    const fields: Field[] = [be(16, 4), be(20, 4), be(24, 1), be(25, 1), be(28, 1)];
    for (let p = 8; p + 8 <= b.length && fields.length < 64; p += 12 + v.getUint32(p)) fields.push(be(p, 4));
    return fields;
  }
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) {
    // Logical screen, flags; the first image descriptor's position and size.
    const fields: Field[] = [le(6, 2), le(8, 2), le(10, 1)];
    const descriptor = b.indexOf(0x2c, 13);
    if (descriptor > 0) fields.push(le(descriptor + 1, 2), le(descriptor + 3, 2), le(descriptor + 5, 2), le(descriptor + 7, 2), le(descriptor + 9, 1));
    return fields;
  }
  if (b[0] === 0x42 && b[1] === 0x4d) {
    // File size, pixel offset, header size, width, height, planes, bpp, compression, image size, palette size.
    return [le(2, 4), le(10, 4), le(14, 4), le(18, 4), le(22, 4), le(26, 2), le(28, 2), le(30, 4), le(34, 4), le(46, 4)];
  }
  if ((b[0] === 0x49 && b[1] === 0x49) || (b[0] === 0x4d && b[1] === 0x4d)) {
    // The IFD offset, its entry count, and each entry's type, count and value/offset.
    const little = b[0] === 0x49;
    const f = (at: number, size: 1 | 2 | 4) => ({ at, size, le: little });
    const ifd = v.getUint32(4, little);
    const fields: Field[] = [f(4, 4), f(ifd, 2)];
    if (ifd + 2 > b.length) return fields;
    for (let i = 0, n = Math.min(v.getUint16(ifd, little), 32); i < n && ifd + 14 + i * 12 <= b.length; i++) {
      const e = ifd + 2 + i * 12;
      fields.push(f(e + 2, 2), f(e + 4, 4), f(e + 8, 4));
    }
    return fields;
  }
  return [];
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
