// LibTorch discovery: env var → wheel on disk → download, and one clear error when none works.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packagePath } from '../src/paths.js';

const SCRIPT = packagePath('scripts', 'libtorch.mjs');

function find(env: Record<string, string>) {
  // PIP_CONFIG_FILE=/dev/null hides this machine's pip find-links, so each case sees only its own sources.
  const base = { PATH: process.env.PATH!, HOME: process.env.HOME!, PIP_CONFIG_FILE: '/dev/null' };
  const r = spawnSync(process.execPath, [SCRIPT], { env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

describe('LibTorch discovery', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'libtorch-'));

  it('takes LIBTORCH first, in wheel or libtorch-zip layout', () => {
    const root = join(tmp, 'given');
    mkdirSync(join(root, 'libtorch', 'share', 'cmake', 'Torch'), { recursive: true });
    execFileSync('touch', [join(root, 'libtorch', 'share', 'cmake', 'Torch', 'TorchConfig.cmake')]);
    const r = find({ LIBTORCH: root, LIBTORCH_DOWNLOAD: '0' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, join(root, 'libtorch'));
  });

  it('refuses a LIBTORCH that holds no LibTorch', () => {
    const r = find({ LIBTORCH: tmp });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /LIBTORCH=.* holds no share\/cmake\/Torch\/TorchConfig\.cmake/);
  });

  it('unpacks the newest torch CPU wheel found on disk, once', () => {
    const wheels = join(tmp, 'wheels');
    mkdirSync(wheels);
    for (const version of ['2.1.0', '2.10.0']) {
      // A real zip with a wheel's layout (python's zipfile: the same unzipper the script uses).
      execFileSync('python3', ['-c', `
import zipfile, sys
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('torch/share/cmake/Torch/TorchConfig.cmake', '# ${version}')
    z.writestr('torch/lib/libc10.so', 'x')
    z.writestr('torch/lib/libtorch_python.so', 'x')
    z.writestr('torch/nn/__init__.py', '')
`, join(wheels, `torch-${version}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl`)]);
    }
    const env = { LIBTORCH_WHEEL_DIR: wheels, LIBTORCH_CACHE: join(tmp, 'cache'), LIBTORCH_DOWNLOAD: '0' };
    const first = find(env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, join(tmp, 'cache', 'torch-2.10.0+cpu-cp311-cp311-manylinux_2_28_x86_64', 'torch'));
    assert.match(first.stderr, /unpacking/);
    const libs = execFileSync('ls', [join(first.stdout, 'lib')], { encoding: 'utf8' });
    assert.equal(libs.trim(), 'libc10.so', 'only what a C++ build needs is unpacked');
    const second = find(env);
    assert.equal(second.stdout, first.stdout);
    assert.doesNotMatch(second.stderr, /unpacking/);
  });

  it('says what to do when nothing is found and download is off or fails', () => {
    const off = find({ LIBTORCH_CACHE: join(tmp, 'none'), LIBTORCH_DOWNLOAD: '0' });
    assert.equal(off.code, 1);
    assert.match(off.stderr, /LibTorch not found: .*LIBTORCH_DOWNLOAD=0/);
    assert.match(off.stderr, /LIBTORCH=\/path\/to\/libtorch/);
    const failed = find({ LIBTORCH_CACHE: join(tmp, 'none'), LIBTORCH_URL: 'http://127.0.0.1:9/libtorch.zip' });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /LibTorch not found: .*127\.0\.0\.1:9/);
  });
});
