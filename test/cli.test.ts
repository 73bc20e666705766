// The CLI as a user runs it: a child process, real photos, the genuine model.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { packagePath } from '../src/paths.js';
import { freePort, photos, PHOTOS_DIR, SAMPLES_DIR, startServe, trueIndex } from './helpers.js';

const CLI = packagePath('dist', 'cli.js');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pytorch-infer CLI', () => {
  it('prints the top-3 of each photo, loading the model once', async () => {
    const files = photos(SAMPLES_DIR);
    const { code, stdout } = await cli('predict', ...files);
    assert.equal(code, 0);
    const blocks = stdout.trim().split(/\n(?=\S)/);
    assert.equal(blocks.length, files.length);
    for (const [i, block] of blocks.entries()) {
      const [name, ...rows] = block.split('\n');
      assert.equal(name, files[i]);
      assert.equal(rows.length, 3);
      for (const row of rows) assert.match(row, /^ {2}\S.*\s+\d+\.\d%$/);
    }
  });

  it('prints nothing but its summary on stderr where NNPACK cannot start (cpuinfo finds no CPUs)', async (t) => {
    // Some CPUs are such places (this project's AMD EPYC VMs); hiding /sys/devices/system/cpu
    // from cpuinfo makes any machine one. LibTorch logged "Could not initialize NNPACK! Reason:
    // Unsupported hardware." 68 times for one photo there.
    const hide = 'mount -t tmpfs none /sys/devices/system/cpu && exec "$@"';
    if (spawnSync('unshare', ['-m', 'sh', '-c', hide, 'sh', 'true']).status !== 0) return t.skip('needs `unshare -m` (root)');
    const files = photos(SAMPLES_DIR);
    const { stdout, stderr } = await promisify(execFile)('unshare', ['-m', 'sh', '-c', hide, 'sh', process.execPath, CLI, 'predict', ...files], { timeout: 120_000 });
    assert.match(stderr, new RegExp(`^predict: ${files.length} photos, 0 failed, [\\d.]+ s, [\\d.]+ img/s\\n$`));
    assert.match(stdout, /brambling/);
  });

  it('writes every row into a pipe that is read slowly before it exits (it skips LibTorch\'s teardown)', async () => {
    // 100 photos × 100 classes is ~700 KB of JSON: the pipe (64 KB) fills while the reader pauses.
    const child = spawn(process.execPath, [CLI, 'predict', '--json', '--decoder', 'sharp', '--top', '100', ...photos()], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.pause();
    await sleep(3000);
    let stdout = '';
    const ended = once(child.stdout, 'end');
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk)).resume();
    const [[code]] = await Promise.all([once(child, 'exit'), ended]);
    assert.equal(code, 0);
    const rows = stdout.trim().split('\n').map((line) => JSON.parse(line) as { predictions: unknown[] });
    assert.equal(rows.length, photos().length);
    assert.ok(rows.every((row) => row.predictions.length === 100));
  });

  it('prints JSON lines with --json and honours --top and --decoder', async () => {
    for (const decoder of ['jimp', 'sharp']) {
      const files = photos(SAMPLES_DIR);
      const { code, stdout } = await cli('predict', '--json', '--top', '5', '--decoder', decoder, ...files);
      assert.equal(code, 0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, files.length);
      for (const [i, line] of lines.entries()) {
        assert.equal(line.file, files[i]);
        assert.equal(line.predictions.length, 5);
        assert.equal(line.predictions[0].index, trueIndex(files[i]), `${decoder}: ${files[i]}`);
        assert.deepEqual(Object.keys(line.predictions[0]).sort(), ['index', 'label', 'probability']);
      }
    }
  });

  it('reports a bad photo, still prints the others, and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-'));
    const text = join(dir, 'notes.jpg');
    writeFileSync(text, 'not a photo');
    const good = photos(SAMPLES_DIR)[0];
    const { code, stdout } = await cli('predict', '--json', join(dir, 'missing.jpg'), text, good);
    assert.equal(code, 1);
    const [missing, notImage, ok] = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.match(missing.error, /no such file/);
    assert.match(notImage.error, /not an image/i);
    assert.equal(ok.predictions[0].index, trueIndex(good));
  });

  it('fails clearly on a missing model and on usage errors', async () => {
    const missing = await cli('predict', '--model', '/nonexistent.pt', photos(SAMPLES_DIR)[0]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error: model file not found: \/nonexistent\.pt/);
    assert.doesNotMatch(missing.stderr, /at .*\.js:\d+/, 'no stack trace');
    const usage = await cli('predict');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Not enough non-option arguments|photos/);
    const badTop = await cli('predict', '--top', '0', photos(SAMPLES_DIR)[0]);
    assert.equal(badTop.code, 1);
    assert.match(badTop.stderr, /--top must be a positive integer/);
    // A one-value flag given twice is neither of its values silently; a list flag takes both.
    const twice = await cli('serve', '--host', '127.0.0.1', '--host', '0.0.0.0');
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /--host was given 2 times \(127\.0\.0\.1, 0\.0\.0\.0\): give it once/);
    const topTwice = await cli('predict', '--top', '1', '--top', '2', photos(SAMPLES_DIR)[0]);
    assert.equal(topTwice.code, 2);
  });

  it('serve says the address it is bound to: every address for 0.0.0.0, not the first of them', async () => {
    const server = await startServe(['serve', '--host', '0.0.0.0', '--port', String(await freePort()), '--api-key', 'k', '--cors-origin', 'https://a.example', '--cors-origin', 'https://b.example']);
    try {
      assert.match(server.base, /^http:\/\/0\.0\.0\.0:\d+$/);
      const ready = await fetch(`${server.base.replace('0.0.0.0', '127.0.0.1')}/v2/health/ready`, { headers: { origin: 'https://b.example' } });
      assert.equal(ready.status, 200);
      assert.equal(ready.headers.get('access-control-allow-origin'), 'https://b.example');
    } finally {
      await server.stop();
    }
  });

  it('predicts with a model folder (--model DIR) on each backend: its labels, PyTorch\'s answers', async () => {
    const folder = packagePath('test', 'fixtures', 'models', 'resnet18-10');
    const labels = readFileSync(join(folder, 'labels.txt'), 'utf8').trim().split('\n');
    const reference: { file: string; logits: number[] }[] = JSON.parse(readFileSync(`${folder}.reference.json`, 'utf8')).photos;
    const files = reference.map((r) => join(PHOTOS_DIR, r.file));
    for (const backend of ['torchscript', 'onnx']) {
      const { code, stdout, stderr } = await cli('predict', '--model', folder, '--backend', backend, '--json', '--top', '2', '--decoder', 'sharp', '--exact-decode', ...files);
      assert.equal(code, 0, stderr);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, files.length);
      for (const [i, { logits }] of reference.entries()) {
        const expected = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 2);
        const softmax = (k: number) => Math.exp(logits[k]) / logits.reduce((sum, v) => sum + Math.exp(v), 0);
        assert.deepEqual(lines[i].predictions.map((p: { index: number }) => p.index), expected, `${backend}: ${files[i]}`);
        for (const p of lines[i].predictions) {
          assert.equal(p.label, labels[p.index]);
          assert.ok(Math.abs(p.probability - softmax(p.index)) < 1e-5, `${backend}: ${files[i]}: p=${p.probability}`);
        }
      }
    }
  });

  it('refuses a bad model folder, naming the file and the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-'));
    const folder = packagePath('test', 'fixtures', 'models', 'resnet18-10');
    for (const file of ['model.pt', 'labels.txt']) symlinkSync(join(folder, file), join(dir, file));
    writeFileSync(join(dir, 'config.json'), '{"preprocessing": {"input_size": [160, "160"]}}');
    const { code, stderr } = await cli('predict', '--model', dir, photos(SAMPLES_DIR)[0]);
    assert.equal(code, 1);
    assert.match(stderr, /error: .*\/config\.json: preprocessing\.input_size\[1\] must be an integer from 1 to 4096, got "160"/);
  });

  it('prints info: LibTorch version, model sha256, threads', async () => {
    const { code, stdout } = await cli('info', '--json', '--threads', '1');
    assert.equal(code, 0);
    const info = JSON.parse(stdout);
    assert.match(info.runtime, /^LibTorch 2\.\d+/);
    assert.match(info.sha256, /^[0-9a-f]{64}$/);
    assert.equal(info.threads, 1);
    assert.equal(info.labels, 1000);
  });

  it('has --help on every command', async () => {
    for (const args of [['--help'], ['predict', '--help'], ['info', '--help']]) {
      const { code, stdout } = await cli(...args);
      assert.equal(code, 0);
      assert.match(stdout, /pytorch-infer/);
    }
  });
});
