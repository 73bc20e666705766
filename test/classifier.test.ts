// The library API end to end: real photos, the genuine model, real decoders.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Classifier } from '../src/index.js';
import { packagePath } from '../src/paths.js';
import { photos, PHOTOS_DIR, SAMPLES_DIR, trueIndex } from './helpers.js';
import { pngHeader } from './image-fixtures.js';


const reference = JSON.parse(readFileSync(packagePath('test', 'fixtures', 'reference', 'reference.json'), 'utf8'));

describe('Classifier', () => {
  let classifier: Classifier;
  before(async () => {
    classifier = await Classifier.create();
  });
  after(() => classifier.close());

  it('names the bundled sample photos right', async () => {
    for (const file of photos(SAMPLES_DIR)) {
      const [top] = await classifier.classify(file);
      assert.equal(top.index, trueIndex(file), `${file}: got ${top.label}`);
      assert.ok(top.probability > 0.5 && top.probability <= 1, `${file}: p=${top.probability}`);
    }
  });

  it('returns top-k sorted by probability, from bytes as from a path', async () => {
    const file = photos(SAMPLES_DIR)[0];
    const fromPath = await classifier.classify(file, 5);
    const fromBytes = await classifier.classify(readFileSync(file), 5);
    assert.deepEqual(fromBytes, fromPath);
    assert.equal(fromPath.length, 5);
    for (let i = 1; i < 5; i++) assert.ok(fromPath[i - 1].probability >= fromPath[i].probability);
  });

  it('classifies a batch in one forward with the answers of single photos', async () => {
    const files = photos(SAMPLES_DIR);
    const batch = await classifier.classifyBatch(files, 3);
    for (const [i, file] of files.entries()) {
      const single = await classifier.classify(file, 3);
      assert.deepEqual(batch[i].map((p) => p.index), single.map((p) => p.index));
      batch[i].forEach((p, k) => assert.ok(Math.abs(p.probability - single[k].probability) < 1e-4));
    }
  });

  for (const decoder of ['jimp', 'sharp'] as const) {
    it(`matches the Python/PIL reference on the 100 committed photos (${decoder})`, async () => {
      const c = decoder === 'jimp' ? classifier : await Classifier.create({ decoder });
      const files: string[] = reference.files;
      let correct = 0;
      let agree = 0;
      for (const [i, name] of files.entries()) {
        const [top] = await c.classify(join(PHOTOS_DIR, name), 1);
        if (top.index === trueIndex(name)) correct++;
        if (top.index === reference.photos[i].float.top5[0]) agree++;
      }
      if (c !== classifier) await c.close();
      assert.ok(agree >= 98, `top-1 agreement with the PIL reference: ${agree}/100`);
      assert.ok(correct >= 83, `top-1 accuracy: ${correct}/100 (reference 85)`);
    });
  }

  it('refuses bad inputs with clear errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-'));
    const jpeg = readFileSync(photos(SAMPLES_DIR)[0]);
    const cases: [string, Uint8Array | null, RegExp][] = [
      ['missing.jpg', null, /cannot read .*missing\.jpg: no such file/],
      ['empty.jpg', Buffer.alloc(0), /empty/i],
      ['text.jpg', Buffer.from('hello, I am not a photo\n'), /not an image/i],
      ['truncated.jpg', jpeg.subarray(0, jpeg.length >> 1), /truncated|corrupt/i],
      ['huge.png', pngHeader(100_000, 100_000), /100000×100000.*over the \d+ MP limit/],
    ];
    for (const [name, bytes, error] of cases) {
      const file = join(dir, name);
      if (bytes) writeFileSync(file, bytes);
      await assert.rejects(classifier.classify(file), error, name);
    }
    await assert.rejects(classifier.predict({ data: new Float32Array(10), shape: [1, 10] }), /shape \[N, 3, 224, 224\]/);
  });

  it('fails to start with a clear error when the model is missing', async () => {
    await assert.rejects(Classifier.create({ model: '/nonexistent/model.pt' }), /model file not found: \/nonexistent\/model\.pt/);
    await assert.rejects(Classifier.create({ labels: '/nonexistent/labels.txt' }), /cannot read labels file .*no such file/);
  });

  it('runs the third-party int8 TorchScript artifact unchanged, one image at a time', async () => {
    const int8 = await Classifier.create({ model: packagePath('model', 'mobilenet_v2_quantized_scripted.pt') });
    try {
      assert.equal(int8.backend.maxBatch, 1);
      const files = photos(SAMPLES_DIR);
      const batch = await int8.classifyBatch(files, 1);
      files.forEach((file, i) => assert.equal(batch[i][0].index, trueIndex(file), file));
    } finally {
      await int8.close();
    }
  });
});
