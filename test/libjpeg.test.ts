// The decode side's addon. Its JPEG decoder (native/jpeg_decoder.cc), libjpeg-turbo called directly,
// gives the pixels libvips gives through sharp, refuses the corrupt files PIL refuses, and checks its
// arguments; trimHeap (native/heap_trim.cc) gives freed memory back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readHeader } from '../src/image/index.js';
import { decodeWithLibjpeg, libjpeg } from '../src/image/libjpeg.js';
import { decodeWithLibvips } from '../src/image/sharp.js';
import { packagePath } from '../src/paths.js';
import { PHOTOS } from './image-fixtures.js';
import { photos } from './helpers.js';

const LIMITS = { maxPixels: 40_000_000 };
const jpeg = libjpeg();

describe('libjpeg addon', () => {
  it('is built here', () => assert.ok(jpeg, 'build/Release/pytorch_infer_jpeg.node (libjpeg-dev installed?)'));

  it('decodes every sample photo and the CMYK one to the bytes libvips decodes', async () => {
    const files = [...photos(PHOTOS), packagePath('test', 'fixtures', 'reference', 'formats', 'cmyk.jpg')];
    assert.ok(files.length >= 101);
    for (const file of files) {
      const bytes = new Uint8Array(readFileSync(file));
      const ours = await decodeWithLibjpeg(jpeg!, bytes, readHeader(bytes), LIMITS);
      const theirs = await decodeWithLibvips(bytes, readHeader(bytes), LIMITS);
      assert.deepEqual([ours.width, ours.height], [theirs.width, theirs.height], file);
      assert.ok(Buffer.from(ours.data).equals(Buffer.from(theirs.data)), `${file}: pixels differ`);
    }
  });

  it('accepts corrupt entropy data and a file cut after its last row, as PIL does, and refuses one cut before it', async () => {
    const bytes = new Uint8Array(readFileSync(join(PHOTOS, 'n01440764_tench.JPEG')));
    const scan = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xda); // start of scan
    const damaged = bytes.slice();
    for (let i = scan + 400; i < scan + 420; i++) damaged[i] ^= 0x55;
    const ours = await jpeg!.decode(damaged, 1);
    const theirs = await decodeWithLibvips(damaged, readHeader(damaged), LIMITS);
    assert.ok(Buffer.from(ours.data).equals(Buffer.from(theirs.data)));
    const full = await jpeg!.decode(bytes, 1);
    // The scan whole, then a comment cut short and no end marker: PIL decodes it.
    const cutComment = Buffer.concat([bytes.subarray(0, bytes.length - 2), Buffer.from([0xff, 0xfe, 0x00, 0x10]), Buffer.from('abc')]);
    const cutAfter = await jpeg!.decode(new Uint8Array(cutComment), 1);
    assert.ok(Buffer.from(cutAfter.data).equals(Buffer.from(full.data)));
    // Missing only its end marker, a file runs out before the last row too (libjpeg reads ahead): PIL refuses it.
    for (const cut of [2, 2000]) await assert.rejects(jpeg!.decode(bytes.subarray(0, bytes.length - cut), 1), /truncated/);
  });

  it('rejects bad arguments and non-JPEG bytes with an Error, never an abort', async () => {
    const addon = jpeg as unknown as { decode(...args: unknown[]): Promise<unknown> };
    assert.throws(() => addon.decode('not bytes', 1), TypeError);
    assert.throws(() => addon.decode(new Uint8Array(4), 3), RangeError);
    await assert.rejects(addon.decode(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), 1), /JPEG/);
    await assert.rejects(addon.decode(Uint8Array.from({ length: 64 }, (_, i) => i), 1), Error);
  });
});

describe('libjpeg addon in worker threads that end', () => {
  it('survives workers terminated while they load it or decode with it (no native abort)', async () => {
    // What predict's decode pool does when it closes early, many times over, in a child process.
    const script = `
      const { Worker } = require('node:worker_threads');
      const body = 'const a = require(process.argv[2]); const b = require("node:fs").readFileSync(process.argv[3]); ' +
        'for (let i = 0; i < 50; i++) a.decode(new Uint8Array(b), 1);';
      (async () => {
        for (let i = 0; i < 120; i++) {
          const w = new Worker(body, { eval: true, argv: process.argv.slice(1) });
          await new Promise((r) => setTimeout(r, i % 60));
          await w.terminate();
        }
      })();`;
    const addon = packagePath('build', 'Release', 'pytorch_infer_jpeg.node');
    const { status, stderr } = spawnSync(process.execPath, ['-e', script, addon, join(PHOTOS, 'n01440764_tench.JPEG')], { encoding: 'utf8' });
    assert.equal(status, 0, stderr);
  });
});

describe('trimHeap', () => {
  it('gives back to the system what ended worker threads freed, which glibc otherwise keeps', (t) => {
    // Three workers allocate ~800 MB in 64 KB buffers (below glibc's mmap threshold, so in their
    // arenas), collecting as they go, and end; RSS at the start, before the trim and after it, in
    // a child process of its own. What they leave behind differs with Node's version (here, Node
    // 24: 157-229 MB, of which the trim gave back 79-86 %; Node 22: 88-111 MB, 87-89 %), so the
    // trim must give back at least half of it, not a fixed amount.
    const script = `
      const { Worker } = require('node:worker_threads');
      const addon = require(process.argv[1]);
      const body = 'const keep = []; for (let i = 0; i < 4000; i++) { const b = Buffer.alloc(65536 + (i % 7) * 512, 1); if (i % 50 === 49) keep.push(b); }' +
        'require("node:worker_threads").parentPort.postMessage(keep.length); setInterval(() => {}, 1000);';
      const rss = () => process.memoryUsage().rss;
      (async () => {
        const start = rss();
        const workers = [0, 1, 2].map(() => new Worker(body, { eval: true }));
        await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
        await Promise.all(workers.map((w) => w.terminate()));
        const before = rss();
        const released = await addon.trimHeap();
        console.log(JSON.stringify({ start, before, after: rss(), released }));
      })();`;
    const { status, stdout, stderr } = spawnSync(process.execPath, ['-e', script, packagePath('build', 'Release', 'pytorch_infer_jpeg.node')], { encoding: 'utf8' });
    assert.equal(status, 0, stderr);
    const { start, before, after, released } = JSON.parse(stdout) as { start: number; before: number; after: number; released: boolean };
    const mb = (bytes: number) => `${bytes >> 20} MB`;
    const message = `RSS ${mb(start)} at the start, ${mb(before)} after the workers, ${mb(after)} after the trim`;
    t.diagnostic(message);
    assert.equal(released, true);
    assert.ok(before - start > 50 * 2 ** 20, `the workers left too little to trim: ${message}`);
    assert.ok(before - after > 0.5 * (before - start), message);
  });
});
