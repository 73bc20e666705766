// Phone-size photos (test/fixtures/large, made by scripts/export/large_photos.py): sharp decodes
// them at the reduced scale PIL's draft() picks, and the answers stay PIL's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Classifier } from '../src/classifier.js';
import { getDecoder, preprocess, readHeader, RESIZE_SIZE } from '../src/image/index.js';
import { libjpeg } from '../src/image/libjpeg.js';
import { decodeWithLibvips } from '../src/image/sharp.js';
import { packagePath } from '../src/paths.js';
import { distance, readTensor } from './image-fixtures.js';

const DIR = packagePath('test', 'fixtures', 'large');
interface Entry {
  file: string;
  label: number;
  tensor?: string;
  draft: { decoded: [number, number]; top5: number[] };
  full: { decoded: [number, number]; top5: number[] };
}
const { photos } = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as { photos: Entry[] };
const bytes = (file: string) => new Uint8Array(readFileSync(join(DIR, file)));
const limits = { maxPixels: 40_000_000, draft: { width: RESIZE_SIZE, height: RESIZE_SIZE } };

describe('large photos with sharp', () => {
  it('decodes each at the size PIL\'s draft gives, or at full size without a draft', async () => {
    const sharp = getDecoder('sharp');
    for (const { file, draft, full: pil } of photos) {
      const reduced = await sharp.decode(bytes(file), limits);
      assert.deepEqual([reduced.width, reduced.height], draft.decoded, file);
      const full = await sharp.decode(bytes(file), { maxPixels: limits.maxPixels });
      assert.deepEqual([full.width, full.height], pil.decoded, `${file}, no draft`);
    }
  });

  it('gives PIL\'s draft tensors: exactly with libjpeg, within mean |Δ| ≤ 0.012 through libvips (a full decode is 0.0115 away)', async () => {
    assert.ok(libjpeg(), 'the libjpeg addon (build/Release/pytorch_infer_jpeg.node) is built here');
    const sharp = getDecoder('sharp');
    const withTensors = photos.filter((p) => p.tensor);
    assert.ok(withTensors.length >= 6);
    for (const { file, tensor } of withTensors) {
      const reference = readTensor(join(DIR, tensor!));
      const { max } = distance(preprocess(await sharp.decode(bytes(file), limits)), reference);
      assert.ok(max <= 1e-6, `${file}: max |Δ| ${max}`);
      // Where the addon is missing, libvips decodes at half PIL's scale and reduces the rest.
      const { mean } = distance(preprocess(await decodeWithLibvips(bytes(file), readHeader(bytes(file)), limits)), reference);
      assert.ok(mean <= 0.012, `${file} through libvips: mean |Δ| ${mean}`);
    }
  });

  describe('through the classifier', () => {
    let classifier: Classifier;
    before(async () => {
      classifier = await Classifier.create({ decoder: 'sharp' });
    });
    after(() => classifier.close());

    it('is right as often as PIL with a full decode, and agrees with PIL\'s draft answers', async () => {
      let correct = 0;
      let agree = 0;
      for (const { file, label, draft } of photos) {
        const [top] = await classifier.classify(join(DIR, file), 1);
        correct += Number(top.index === label);
        agree += Number(top.index === draft.top5[0]);
      }
      const pilFull = photos.filter((p) => p.full.top5[0] === p.label).length;
      console.log(`large photos: top-1 ${correct}/${photos.length} (PIL full decode ${pilFull}), agreement with PIL draft ${agree}/${photos.length}`);
      assert.ok(photos.length >= 20);
      assert.ok(correct >= pilFull, `top-1 ${correct} < PIL's ${pilFull}`);
      assert.equal(agree, photos.length);
    });
  });
});
