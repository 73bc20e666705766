import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getDecoder, INPUT_SIZE, preprocess, type DecoderName } from '../src/image/index.js';
import { cropStart, resizedSize } from '../src/image/preprocess.js';
import { resizeBilinear } from '../src/image/resize.js';

import { distance, FORMATS, pattern, PHOTOS, readTensor, referenceTensors, TENSORS } from './image-fixtures.js';

const FIXTURES_REFERENCE = join(FORMATS, '..');

const PLANE = INPUT_SIZE * INPUT_SIZE;


const PIL_RESIZED: [from: [number, number], to: [number, number], hex: string][] = [
  [[7, 5], [3, 2], '6c888f87848c8382837591757f7c716a8678'],
  [[7, 5], [2, 5], '3b70a5a3a38b95a0946b7699967e6b856d606e796d828d7b6fa47a4f8477'],
  [[7, 5], [7, 3], '275c915186bb7aaf77a46ba06095ca8abf62b4568b7db259b85f94659a5da06398699e45a44b80518682457aaf91c6694b8048985f9476ab4e30659a7cb179'],
  [
    [7, 5],
    [11, 8],
    '00356a11467b285d924075aa578cc16fa4d987bcf19ed3c2b6eb37cd7737de1348285d923b70a5558ab570a5898a9784a56a9f7985ba6a9fad85ba6ca0867ab3588d6196bb77a5d194badaa9da61c3a13de3285d69477231618b5077aa6694c975aadf9acf54b3986dc65b897a7f7a6c84869075aa81995e878c41ab40656e5388376ca182b73c9f8459b64b796f736e667e808e73a8839b608d9247b54a6f7d626b497e631b50753b6995658cab88b83faf8d29db20556f4d7843749d7096ca93c173abe0254479ae679c8f8abf675f9451687462995e93828f68629764386d955b90887db2776ca1d691c686ade22e3e73622b60955f94c993c85a80b5301146642d62975287bc',
  ],
  [
    [64, 48],
    [9, 7],
    '7f81807d807d83807e7c847b8479807b7e7f7f7c797e7c8278837b877b817f82827c847a7a82817c7e7e857481847e7c83837e7b81817b817e767887727283807c7a7c7d816e788d847b7f84837f7a86947a82817e797c747a8880817e7e7d7e72808e827f7d807c7e707e938879877b837f7e877b8577807f7a7f798680857c7d837b7f7d7e81827a817e84857f7b7d7b7f7d807c817c7b7a8a7e7a837781847a7484847876758563718b787f7f797e7b865c7189777e867687a0785e',
  ],
];

describe('resizeBilinear', () => {
  for (const [[w, h], [ow, oh], hex] of PIL_RESIZED) {
    it(`is byte-identical to PIL for ${w}×${h} → ${ow}×${oh}`, () => {
      const out = resizeBilinear(pattern(w, h), ow, oh);
      assert.equal(Buffer.from(out.data).toString('hex'), hex);
    });
  }

  it('returns exactly the requested region of the full resize', () => {
    const src = pattern(64, 48);
    const full = resizeBilinear(src, 41, 29);
    const region = { left: 5, top: 7, width: 30, height: 20 };
    const part = resizeBilinear(src, 41, 29, region);
    for (let y = 0; y < region.height; y++) {
      const row = (start: number, data: Uint8Array, width: number) => data.subarray((start + y) * width * 3, (start + y + 1) * width * 3);
      const expected = row(region.top, full.data, 41).subarray(region.left * 3, (region.left + region.width) * 3);
      assert.deepEqual(row(0, part.data, region.width), expected, `row ${y}`);
    }
  });
});

describe('torchvision Resize(256) + CenterCrop(224) geometry', () => {
  it('scales the shorter side to 256 and truncates the longer one', () => {
    assert.deepEqual(resizedSize(500, 375), { width: 341, height: 256 });
    assert.deepEqual(resizedSize(375, 500), { width: 256, height: 341 });
    assert.deepEqual(resizedSize(256, 999), { width: 256, height: 999 });
    assert.deepEqual(resizedSize(1, 3), { width: 256, height: 768 });
  });

  it("centres the crop with Python's round-half-to-even", () => {
    assert.equal(cropStart(224), 0);
    assert.equal(cropStart(256), 16);
    assert.equal(cropStart(257), 16); // round(16.5) = 16
    assert.equal(cropStart(259), 18); // round(17.5) = 18
    assert.equal(cropStart(341), 58); // round(58.5) = 58
    assert.equal(cropStart(200), -12); // padded: 12 columns of black on the left
  });
});

describe('preprocess', () => {
  it('normalises to the bit like torch: (x / 255 - mean) / std in float32', () => {
    // torch: tensor([0, 1, 128, 254, 255]).float().div(255).sub(mean).div(std), channels R, G, B
    const hex = 'bd8b07c02b7306c032af973d8ad50e401dee0f40244902c04f2a01c0481b523ee04e1a40b76d1b4009f8e6bfeabce4bf3c5dda3e34d82740c3f52840';
    const expected = new Float32Array(Uint8Array.from(Buffer.from(hex, 'hex')).buffer);
    [0, 1, 128, 254, 255].forEach((v, i) => {
      const grey = { width: 256, height: 256, data: new Uint8Array(256 * 256 * 3).fill(v) };
      const t = preprocess(grey);
      assert.equal(t.length, 3 * PLANE);
      for (let c = 0; c < 3; c++) {
        assert.equal(t[c * PLANE], expected[c * 5 + i], `value ${v}, channel ${c}`);
        assert.equal(t[(c + 1) * PLANE - 1], expected[c * 5 + i], `value ${v}, channel ${c}`);
      }
    });
  });

  it('lays the tensor out planar (CHW), row by row', () => {
    const img = pattern(256, 256); // no resize; the crop starts at (16, 16)
    const t = preprocess(img);
    const at = (c: number, y: number, x: number) => t[c * PLANE + y * INPUT_SIZE + x];
    const byte = (c: number, y: number, x: number) => img.data[((y + 16) * 256 + x + 16) * 3 + c];
    const normalised = (c: number, v: number) => preprocess({ width: 1, height: 1, data: new Uint8Array(3).fill(v) })[c * PLANE];
    for (const [c, y, x] of [[0, 0, 0], [1, 5, 200], [2, 223, 17]]) assert.equal(at(c, y, x), normalised(c, byte(c, y, x)));
  });
});

const references = referenceTensors();

describe('decode + preprocess against the PIL pipeline on real photos', { skip: references.length === 0 && 'no reference tensors' }, () => {
  // The contract is a mean |Δ| ≤ 0.01. sharp decodes JPEG with libjpeg-turbo like PIL and is
  // exact; jpeg-js's IDCT differs from libjpeg's by a level on ~10% of pixels.
  const bounds: Record<DecoderName, { mean: number; max: number }> = {
    sharp: { mean: 1e-6, max: 1e-5 },
    jimp: { mean: 0.005, max: 0.1 },
  };
  for (const name of ['jimp', 'sharp'] as const) {
    it(`${name}: every reference photo within mean |Δ| ≤ 0.01 (measured bound ${bounds[name].mean})`, async () => {
      const decoder = getDecoder(name);
      for (const file of references) {
        const stem = file.slice(0, -'.f32'.length);
        const bytes = new Uint8Array(readFileSync(join(PHOTOS, `${stem}.JPEG`)));
        const tensor = preprocess(await decoder.decode(bytes, { maxPixels: 40_000_000 }));
        const { mean, max } = distance(tensor, readTensor(join(TENSORS, file)));
        assert.ok(mean <= 0.01, `${stem}: mean |Δ| ${mean}`);
        assert.ok(mean <= bounds[name].mean && max <= bounds[name].max, `${stem}: mean |Δ| ${mean}, max ${max}`);
      }
    });
  }
});

describe('every image mode and container gives PIL\'s tensor', () => {
  const manifest = JSON.parse(readFileSync(join(FORMATS, 'manifest.json'), 'utf8')) as {
    files: { file: string; format: string; mode: string; tensor: string }[];
  };
  // Lossless files decode to PIL's exact pixels; JPEGs differ only by jpeg-js's IDCT (jimp).
  const bound = (decoder: DecoderName, format: string) => (decoder === 'jimp' && format === 'JPEG' ? 0.01 : 1e-6);
  for (const name of ['jimp', 'sharp'] as const) {
    for (const { file, format, mode, tensor } of manifest.files) {
      it(`${name}: ${file} (${format} ${mode})`, async () => {
        const bytes = new Uint8Array(readFileSync(join(FORMATS, file)));
        const ours = preprocess(await getDecoder(name).decode(bytes, { maxPixels: 40_000_000 }));
        const { mean } = distance(ours, readTensor(join(FIXTURES_REFERENCE, tensor)));
        assert.ok(mean <= bound(name, format), `mean |Δ| ${mean}`);
      });
    }
  }
});
