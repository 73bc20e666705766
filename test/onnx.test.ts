// The ONNX backend against the LibTorch one on the same preprocessed photos.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Classifier, concat, createBackend, split } from '../src/index.js';
import { photos } from './helpers.js';
import { distance } from './image-fixtures.js';

describe('onnx backend', () => {
  let torch: Classifier;
  let onnx: Classifier;
  before(async () => {
    [torch, onnx] = await Promise.all([Classifier.create({ decoder: 'sharp' }), Classifier.create({ backend: 'onnx', decoder: 'sharp' })]);
  });
  after(async () => {
    await torch.close();
    await onnx.close();
  });

  it('gives LibTorch\'s logits on the 100 photos: max |Δ| ≤ 1e-3, same top-1 everywhere', async () => {
    const files = photos();
    assert.equal(files.length, 100);
    let maxDiff = 0;
    let agree = 0;
    for (let i = 0; i < files.length; i += 10) {
      const batch = concat(await Promise.all(files.slice(i, i + 10).map((f) => torch.preprocess(f))));
      const [a, b] = [await torch.backend.forward(batch), await onnx.backend.forward(batch)];
      assert.deepEqual(b.shape, [10, 1000]);
      maxDiff = Math.max(maxDiff, distance(a.data, b.data).max);
      const rows = [split(a), split(b)].map((rs) => rs.map((r) => torch.labels.topK(r.data, 1)[0].index));
      agree += rows[0].filter((index, r) => index === rows[1][r]).length;
    }
    assert.ok(maxDiff <= 1e-3, `max |Δlogit| ${maxDiff}`);
    console.log(`onnx vs torchscript on 100 photos: max |Δlogit| ${maxDiff.toExponential(2)}, top-1 agreement ${agree}/100`);
    assert.equal(agree, 100);
  });

  it('reports its runtime and refuses bad models and shapes clearly', async () => {
    assert.match(onnx.backend.runtime, /^ONNX Runtime \d+\.\d+/);
    await assert.rejects(createBackend('onnx', { model: '/nonexistent.onnx' }), /model file not found: \/nonexistent\.onnx/);
    await assert.rejects(createBackend('onnx', { model: 'model/class_names.txt' }), /cannot load ONNX model/);
    await assert.rejects(onnx.backend.forward({ data: new Float32Array(4 * 224 * 224), shape: [1, 4, 224, 224] }), /shape \[N, 3, 224, 224\]/);
  });
});
