// `pytorch-infer bench` as a user runs it, shortened: every engine measured in its own process,
// the table, the JSON and the plot written. Times are not asserted (benchmarks report them).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { BenchReport } from '../src/bench/run.js';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR } from './helpers.js';

const CLI = packagePath('dist', 'cli.js');

describe('pytorch-infer bench', () => {
  it('measures every engine and writes the table, the JSON and the plot', { timeout: 300_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-'));
    const files = photos(SAMPLES_DIR).slice(0, 2);
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      CLI, 'bench', ...files, '--decoder', 'sharp', '--threads', '1', '--batch', '1', '2',
      '--iterations', '2', '--rounds', '1', '--cold-starts', '1', '--no-baseline', '--out', out,
    ], { timeout: 280_000 });
    assert.match(stderr, /benchmark done: 16 steps/);

    const written = readdirSync(out).sort();
    assert.equal(written.length, 3);
    const [json, md, svg] = ['.json', '.md', '-batch.svg'].map((end) => written.find((f) => f.endsWith(end))!);
    assert.equal(readFileSync(join(out, md), 'utf8'), `${stdout.trimEnd()}\n`);

    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchReport;
    assert.deepEqual(report.engines.map((e) => e.engine.id), ['torchscript', 'torchscript-noopt', 'torchscript-int8', 'onnx']);
    for (const e of report.engines) {
      assert.match(e.runtime, e.engine.backend === 'onnx' ? /^ONNX Runtime \d/ : /^LibTorch 2\.13/);
      assert.ok(e.loadMs > 0 && e.coldStart.coldStartMs > e.loadMs, `${e.engine.id}: a cold start includes the load`);
      // predict decodes and batches photos side by side, so two photos may be answered at once: 0 is a real value.
      assert.ok(Number.isFinite(e.coldStart.perPhotoMs) && e.coldStart.perPhotoMs >= 0, `${e.engine.id}: ms/photo ${e.coldStart.perPhotoMs}`);
      // The int8 artifact is traced at batch 1: it gets no batch-2 row rather than a wrong one.
      const batches = e.infer[0].batches.map((b) => b.batch);
      assert.deepEqual(batches, e.engine.id === 'torchscript-int8' ? [1] : [1, 2]);
      for (const b of e.infer[0].batches) assert.ok(b.p50 > 0 && b.p99 >= b.p50 && b.imgPerSec > 0);
      const [pipeline] = e.pipeline;
      assert.equal(pipeline.decoder, 'sharp');
      assert.ok(pipeline.decode.p50 > 0 && pipeline.total.p50 > pipeline.decode.p50, 'end to end includes decoding');
      assert.ok(e.infer[0].peakRssMb! > 50, 'peak RSS of the process holding the model');
    }

    const table = readFileSync(join(out, md), 'utf8');
    assert.match(table, /\| TorchScript int8 \| 1 \| 2 \| batch 1 only \|/);
    assert.match(table, /\| ONNX Runtime \| 1 \| 1 \| [\d.]+ \| [\d.]+ \| \d+ \| 1\.00× \|/);
    assert.match(table, /\| TorchScript float, optimised \| sharp \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| [\d.]+× \|/);

    const plot = readFileSync(join(out, svg), 'utf8');
    assert.match(plot, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal(plot.match(/<path /g)?.length, 4, 'one line per engine');
  });

  it('refuses bad numbers and unreadable photos before measuring anything', async () => {
    for (const [args, message] of [[['--batch', '0'], /--batch must be positive integers, got 0/], [['/no/such.jpg'], /cannot read photo \/no\/such\.jpg/]] as const) {
      await assert.rejects(promisify(execFile)(process.execPath, [CLI, 'bench', ...args]), (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, message);
        assert.doesNotMatch(err.stderr, /benchmark done|inference/);
        return true;
      });
    }
  });
});
