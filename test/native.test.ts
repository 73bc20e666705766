// The native addon on its own: loading, forward, errors, threads, memory.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { native } from '../src/native.js';
import { packagePath } from '../src/paths.js';
import { distance } from './image-fixtures.js';

const FLOAT = packagePath('model', 'traced_model.pt');
const INT8 = packagePath('model', 'mobilenet_v2_quantized_scripted.pt');
const image = (n: number) => new Float32Array(n * 3 * 224 * 224).fill(0.5);

describe('native addon', () => {
  const addon = native();

  it('reports the LibTorch version it was built with', () => {
    assert.match(addon.libtorchVersion, /^2\.\d+\.\d+/);
  });

  it('runs a batch off the event loop and returns logits with their shape', async () => {
    const module = await addon.load(FLOAT, true);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const out = await module.forward(image(8), [8, 3, 224, 224]);
    clearInterval(timer);
    assert.deepEqual(out.shape, [8, 1000]);
    assert.equal(out.data.length, 8000);
    assert.ok(out.data.every(Number.isFinite));
    assert.ok(ticks > 0, 'the event loop kept turning during forward');
    module.close();
  });

  it('gives the same logits with and without graph optimisation', async () => {
    const [plain, optimized] = await Promise.all([addon.load(FLOAT, false), addon.load(FLOAT, true)]);
    const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i) * 2);
    const a = await plain.forward(x, [1, 3, 224, 224]);
    const b = await optimized.forward(x, [1, 3, 224, 224]);
    const maxDiff = distance(a.data, b.data).max;
    assert.ok(maxDiff < 1e-3, `max |Δlogit| ${maxDiff}`);
    plain.close();
    optimized.close();
  });

  it('runs one fused graph per shape on every lane at once, with the plain graph\'s logits', async () => {
    // The lanes share each shape's compiled function: forwards on both lanes at the same time,
    // at two batch sizes, while it is profiled and compiled and after.
    const [plain, fused] = await Promise.all([addon.load(FLOAT, false), addon.load(FLOAT, { mode: 'fused', lanes: 2 })]);
    const x = new Float32Array(4 * 3 * 224 * 224).map((_, i) => Math.sin(i / 7) * 2);
    for (const n of [1, 4]) {
      const input = x.subarray(0, n * 3 * 224 * 224);
      const expected = await plain.forward(input, [n, 3, 224, 224]);
      const outs = await Promise.all(Array.from({ length: 6 }, () => fused.forward(input, [n, 3, 224, 224])));
      for (const out of outs) {
        const maxDiff = distance(out.data, expected.data).max;
        assert.ok(maxDiff < 1e-3, `batch ${n}: max |Δlogit| ${maxDiff}`);
      }
    }
    plain.close();
    fused.close();
  });

  it('loads a third-party int8 TorchScript artifact unchanged', async () => {
    const module = await addon.load(INT8, true);
    const out = await module.forward(image(1), [1, 3, 224, 224]);
    assert.deepEqual(out.shape, [1, 1000]);
    module.close();
  });

  it('turns every bad call into a JS error, never an abort', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-'));
    const corrupt = join(dir, 'corrupt.pt');
    writeFileSync(corrupt, 'not a zip archive');
    await assert.rejects(addon.load(join(dir, 'missing.pt'), true), /cannot load TorchScript model .*missing\.pt.*No such file/);
    await assert.rejects(addon.load(corrupt, true), /cannot load TorchScript model .*corrupt\.pt/);
    await assert.rejects((addon.load as (p: unknown) => Promise<unknown>)(42), /path must be a string/);

    const module = await addon.load(FLOAT, true);
    await assert.rejects(module.forward(image(1), [1, 4, 224, 224]), /has 150528 elements but shape needs 200704/);
    await assert.rejects(module.forward(new Float32Array(4 * 224 * 224), [1, 4, 224, 224]), /forward failed: .*channels/s);
    await assert.rejects(module.forward(image(1), [1, 3, 224, 0]), /shape\[3\] must be a positive integer/);
    await assert.rejects(module.forward(image(1), [1, 3, 224, 224.5]), /shape\[3\] must be a positive integer/);
    await assert.rejects(module.forward(image(1), []), /1 to 8 dimensions/);
    await assert.rejects(module.forward(new Float64Array(3) as unknown as Float32Array, [3]), /must be a Float32Array/);
    await assert.rejects(module.forward(image(1), 'x' as unknown as number[]), /shape must be an array/);
    module.close();
    await assert.rejects(module.forward(image(1), [1, 3, 224, 224]), /after close\(\)/);
    assert.throws(() => new (addon as unknown as { TorchModule: new () => unknown }).TorchModule(), /use load\(path\)/);
  });

  it('sets intra-op threads process-wide and refuses nonsense', () => {
    const before = addon.numThreads();
    addon.setNumThreads(1);
    assert.equal(addon.numThreads(), 1);
    addon.setNumThreads(before);
    assert.throws(() => addon.setNumThreads(0), /integer from 1 to 1024/);
    assert.throws(() => addon.setNumThreads(1.5), /integer from 1 to 1024/);
  });

  it('keeps memory flat over thousands of forwards', { timeout: 300_000 }, async (t) => {
    const module = await addon.load(FLOAT, true);
    const x = image(1);
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) await module.forward(x, [1, 3, 224, 224]);
    };
    await run(300); // the JIT's caches settle
    // The allocator may still grow once in a while, but a leak grows every window: a leaked
    // output (4 KB) adds 4 MB per 1000 forwards, a leaked input (600 KB) 600 MB.
    const windows = [];
    for (let w = 0; w < 3; w++) {
      const before = process.memoryUsage().rss;
      await run(1000);
      windows.push((process.memoryUsage().rss - before) / 2 ** 20);
    }
    // Results kept alive (4 KB each) must cost about their size, not pin the inputs' memory.
    const kept = [];
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) kept.push(await module.forward(x, [1, 3, 224, 224]));
    const keeping = (process.memoryUsage().rss - before) / 2 ** 20;
    module.close();
    t.diagnostic(`RSS growth per 1000 forwards: ${windows.map((mb) => mb.toFixed(1)).join(', ')} MB; keeping the results: ${keeping.toFixed(1)} MB`);
    assert.ok(Math.min(...windows) < 3, `RSS grew in every window: ${windows.map((mb) => mb.toFixed(1)).join(', ')} MB`);
    assert.ok(keeping < 30, `1000 kept results (4 MB of logits) grew RSS by ${keeping.toFixed(1)} MB`);
  });
});
