// The Python reference service of bench/http-vs-python.ts must compute exactly torchvision's
// transform, or the benchmark would compare different work: its preprocess() against the
// committed torchvision tensors. Needs the benchmark's venv (made by its first run).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SERVICE_DIR, VENV_PYTHON } from '../bench/python-service/venv.js';
import { FORMATS, PHOTOS, readTensor, TENSORS } from './image-fixtures.js';

const SCRIPT = `
import sys
sys.path.insert(0, sys.argv[1])
from preprocess import preprocess
for path in sys.argv[2:]:
    with open(path, 'rb') as f:
        sys.stdout.buffer.write(preprocess(f.read()).tobytes())
`;

/** Each committed tensor with the photo it was made from (same stem, in either fixtures folder). */
const cases = readdirSync(TENSORS).filter((f) => f.endsWith('.f32')).map((tensor) => {
  const stem = tensor.slice(0, -'.f32'.length);
  const dir = [PHOTOS, FORMATS].find((d) => readdirSync(d).some((f) => f.startsWith(`${stem}.`)))!;
  return { stem, tensor: join(TENSORS, tensor), photo: join(dir, readdirSync(dir).find((f) => f.startsWith(`${stem}.`))!) };
});

describe('bench/python-service preprocess.py', () => {
  const skip = existsSync(VENV_PYTHON) ? false : `no ${VENV_PYTHON}: run bench/http-vs-python.ts once to make it`;
  it(`gives torchvision's tensors to the bit (${cases.length} photos and formats)`, { skip, timeout: 60_000 }, async () => {
    const { stdout } = await promisify(execFile)(VENV_PYTHON, ['-c', SCRIPT, SERVICE_DIR, ...cases.map((c) => c.photo)], {
      encoding: 'buffer', maxBuffer: 64 * 1024 * 1024,
    });
    const size = 3 * 224 * 224 * 4;
    assert.equal(stdout.length, cases.length * size);
    cases.forEach(({ stem, tensor }, i) => {
      const ours = new Float32Array(stdout.buffer.slice(stdout.byteOffset + i * size, stdout.byteOffset + (i + 1) * size));
      assert.deepEqual(ours, readTensor(tensor), stem);
    });
  });
});
