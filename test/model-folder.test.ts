// Model folders: today's model as a folder behaves as before, bad folders fail clearly, and a
// second architecture (ResNet-18, 10 classes, 160×160, squash + bicubic, mean/std 0.5) gives
// PyTorch + PIL's logits on real photos with both backends, its folder loaded unchanged.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Classifier, DEFAULT_CONFIG, loadModelFolder, parseConfig } from '../src/index.js';
import { packagePath } from '../src/paths.js';
import { photos, PHOTOS_DIR, SAMPLES_DIR } from './helpers.js';
import { distance } from './image-fixtures.js';

const RESNET = packagePath('test', 'fixtures', 'models', 'resnet18-10');
const RESNET_REFERENCE = JSON.parse(readFileSync(`${RESNET}.reference.json`, 'utf8')) as { photos: { file: string; logits: number[] }[] };
const MODEL_DIR = packagePath('model');
const scratch = mkdtempSync(join(tmpdir(), 'pytorch-infer-models-'));

/** A folder in the scratch space: links to existing files, and files with the given text. */
function folder(name: string, links: Record<string, string>, files: Record<string, string> = {}): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const [file, target] of Object.entries(links)) symlinkSync(target, join(dir, file));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const mobilenet = (name: string, files: Record<string, string> = {}, links: Record<string, string> = {}) =>
  folder(name, { 'model.pt': join(MODEL_DIR, 'traced_model.pt'), 'labels.txt': join(MODEL_DIR, 'class_names.txt'), ...links }, files);

/**
 * The TorchScript archive at `from` with its extra file config.json replaced by `json` (padded
 * with spaces to the same length, so only the stored bytes and their CRC-32 change).
 */
function withEmbeddedConfig(from: string, to: string, json: string): string {
  const zip = readFileSync(from);
  const name = Buffer.from('archive/extra/config.json');
  const local = zip.indexOf(name) - 30; // the first mention is the local header's
  assert.equal(zip.readUInt32LE(local), 0x04034b50);
  const length = zip.readUInt32LE(local + 18);
  const data = local + 30 + name.length + zip.readUInt16LE(local + 28);
  assert.ok(json.length <= length);
  const text = Buffer.from(json.padEnd(length));
  text.copy(zip, data);
  zip.writeUInt32LE(crc32(text), local + 14);
  const central = zip.indexOf(name, data + length) - 46;
  assert.equal(zip.readUInt32LE(central), 0x02014b50);
  zip.writeUInt32LE(crc32(text), central + 16);
  writeFileSync(to, zip);
  return to;
}

describe('a model folder with only model.pt and labels.txt', () => {
  let plain: Classifier;
  let folderClassifier: Classifier;
  before(async () => {
    [plain, folderClassifier] = await Promise.all([Classifier.create({ decoder: 'sharp' }), Classifier.create({ model: mobilenet('mobilenet'), decoder: 'sharp' })]);
  });
  after(async () => {
    await plain.close();
    await folderClassifier.close();
  });

  it('runs with the defaults, which are today\'s recipe', () => {
    assert.deepEqual(folderClassifier.config, DEFAULT_CONFIG);
    assert.deepEqual(parseConfig('{}', 'config.json'), DEFAULT_CONFIG);
    assert.deepEqual(folderClassifier.backend.inputShape, [3, 224, 224]);
    assert.equal(folderClassifier.model.name, 'mobilenet');
    assert.equal(folderClassifier.labels.size, 1000);
  });

  it('gives the bare model file\'s tensors and answers, bit for bit, on real photos', async () => {
    for (const file of [...photos(SAMPLES_DIR), ...photos(PHOTOS_DIR).slice(0, 12)]) {
      const [a, b] = await Promise.all([plain.preprocess(file), folderClassifier.preprocess(file)]);
      assert.deepEqual(b.shape, [1, 3, 224, 224]);
      assert.ok(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer)), `${file}: tensors differ`);
      assert.deepEqual(await folderClassifier.predict(b, 5), await plain.predict(a, 5), file);
    }
  });

  it('picks model.onnx when that is the model file it has', async () => {
    const onnx = await Classifier.create({
      model: folder('mobilenet-onnx', { 'model.onnx': join(MODEL_DIR, 'mobilenet_v2.onnx'), 'labels.txt': join(MODEL_DIR, 'class_names.txt') }),
    });
    try {
      assert.equal(onnx.backend.name, 'onnx');
      const [top] = await onnx.classify(photos(SAMPLES_DIR)[0], 1);
      assert.equal(top.label, 'brambling');
    } finally {
      await onnx.close();
    }
  });

  it('takes a model that gives probabilities as it is (output: "probabilities")', async () => {
    const probs = await Classifier.create({ model: mobilenet('mobilenet-probabilities', { 'config.json': '{"output": "probabilities"}' }) });
    try {
      const x = await probs.preprocess(photos(SAMPLES_DIR)[0]);
      const raw = (await probs.backend.forward(x)).data;
      const [[top]] = await probs.predict(x, 1);
      // No softmax over what is said to be a probability: the value is the model's (MobileNetV2's
      // logit, ~18); two forwards may differ in the last bits (LibTorch's per-shape kernels).
      assert.ok(top.probability > 1, `p=${top.probability}`);
      assert.ok(Math.abs(top.probability - raw[top.index]) < 1e-3, `p=${top.probability}, output ${raw[top.index]}`);
      assert.equal(raw[top.index], Math.max(...raw));
    } finally {
      await probs.close();
    }
  });
});

describe('a bad model folder is refused with an error naming the file and the field', () => {
  const labels1000 = join(MODEL_DIR, 'class_names.txt');
  const config = (name: string, json: unknown) => mobilenet(name, { 'config.json': typeof json === 'string' ? json : JSON.stringify(json) });
  const cases: [string, () => string, RegExp, object?][] = [
    ['no model file', () => folder('empty', { 'labels.txt': labels1000 }), /model folder .*\/empty has no model\.pt or model\.onnx/],
    ['not the backend asked for', () => mobilenet('only-pt'), /model folder .*\/only-pt has no model\.onnx \(for the onnx backend\)/, { backend: 'onnx' }],
    ['an unreadable model', () => folder('garbage', { 'labels.txt': labels1000 }, { 'model.pt': 'not a TorchScript archive' }), /cannot load TorchScript model '.*\/garbage\/model\.pt'/],
    ['no labels.txt', () => folder('no-labels', { 'model.pt': join(MODEL_DIR, 'traced_model.pt') }), /cannot read labels file .*\/no-labels\/labels\.txt: no such file/],
    [
      'labels of the wrong length',
      () => folder('999-labels', { 'model.pt': join(MODEL_DIR, 'traced_model.pt') }, { 'labels.txt': readFileSync(labels1000, 'utf8').split('\n').slice(1).join('\n') }),
      /\/999-labels\/labels\.txt names 999 classes, but .*\/999-labels\/model\.pt gives 1000/,
    ],
    ['config.json that is not JSON', () => config('not-json', '{"version": 1,'), /\/not-json\/config\.json: not valid JSON/],
    ['an unknown key', () => config('typo', { preprocesing: {} }), /\/typo\/config\.json: preprocesing is not a known field \(known: version, max_batch, output, preprocessing\)/],
    ['an unknown nested key', () => config('nested-typo', { preprocessing: { crop: 224 } }), /config\.json: preprocessing\.crop is not a known field \(known in preprocessing: input_size, resize, /],
    ['a wrong type', () => config('mean-string', { preprocessing: { mean: '0.5' } }), /\/mean-string\/config\.json: preprocessing\.mean must be 3 numbers \(R, G, B\), got "0\.5"/],
    ['a non-positive std', () => config('std-zero', { preprocessing: { std: [0.5, 0, 0.5] } }), /config\.json: preprocessing\.std must be 3 positive numbers/],
    ['a version that is a number', () => config('version-number', { version: 2 }), /config\.json: version must be a non-empty string, got 2/],
    ['an unknown interpolation', () => config('lanczos', { preprocessing: { interpolation: 'lanczos' } }), /preprocessing\.interpolation must be one of "bilinear", "bicubic", got "lanczos"/],
    ['a zero side', () => config('zero-side', { preprocessing: { input_size: [0, 224] } }), /config\.json: preprocessing\.input_size\[0\] must be an integer from 1 to 4096, got 0/],
    ['a size that is not [height, width]', () => config('one-side', { preprocessing: { input_size: [224] } }), /preprocessing\.input_size must be \[height, width\], got \[224\]/],
    ['a huge side', () => config('huge', { preprocessing: { resize: 100000 } }), /preprocessing\.resize must be an integer from 1 to 4096, got 100000/],
    ['a resize smaller than the crop', () => config('small-resize', { preprocessing: { resize: 100 } }), /preprocessing\.resize 100 is smaller than the input_size \[224,224\] it is cropped to/],
    ['a fractional max_batch', () => config('batch', { max_batch: 1.5 }), /config\.json: max_batch must be a positive integer, got 1\.5/],
    [
      'an input size the ONNX model does not take',
      () => folder('wrong-size', { 'model.onnx': join(RESNET, 'model.onnx'), 'labels.txt': join(RESNET, 'labels.txt') }, { 'config.json': '{}' }),
      /model .*\/wrong-size\/model\.onnx does not take an image batch \[N, 3, 224, 224\]/,
    ],
  ];
  for (const [what, make, error, options] of cases) {
    it(what, async () => {
      await assert.rejects(Classifier.create({ model: make(), ...options }), error);
    });
  }

  it('a bad config carried inside model.pt', async () => {
    const dir = folder('bad-embedded', { 'labels.txt': join(RESNET, 'labels.txt') });
    withEmbeddedConfig(join(RESNET, 'model.pt'), join(dir, 'model.pt'), '{"preprocessing": {"resize": "squash"}}');
    await assert.rejects(
      Classifier.create({ model: dir }),
      /\/bad-embedded\/model\.pt \(extra file config\.json\): preprocessing\.resize must be a side N \(shorter side to N\) or \[height, width\] \(squash\), got "squash"/,
    );
  });

  it('labels given beside a folder', async () => {
    await assert.rejects(Classifier.create({ model: RESNET, labels: labels1000 }), /a model folder has its own labels\.txt/);
  });
});

describe('ResNet-18, 10 classes at 160×160, squash + bicubic, mean/std 0.5 (test/fixtures/models/resnet18-10)', () => {
  for (const backend of ['torchscript', 'onnx'] as const) {
    it(`${backend}: logits within 1e-3 of PyTorch + PIL on ${RESNET_REFERENCE.photos.length} photos, the folder loaded unchanged`, async () => {
      // sharp decodes JPEG as PIL does; a full decode, as the reference made (no draft()).
      const resnet = await Classifier.create({ model: RESNET, backend, decoder: 'sharp', exactDecode: true });
      try {
        assert.deepEqual(resnet.backend.inputShape, [3, 160, 160]);
        assert.equal(resnet.backend.classes, 10);
        assert.equal(resnet.backend.maxBatch, 8);
        assert.deepEqual(resnet.config.preprocessing.resize, { mode: 'squash', size: [160, 160] });
        let worst = 0;
        for (const { file, logits } of RESNET_REFERENCE.photos) {
          const x = await resnet.preprocess(join(PHOTOS_DIR, file));
          worst = Math.max(worst, distance((await resnet.backend.forward(x)).data, logits).max);
          const [[top]] = await resnet.predict(x, 1);
          assert.equal(top.index, logits.indexOf(Math.max(...logits)), file);
          assert.equal(top.label, resnet.labels.names[top.index]);
        }
        console.log(`resnet18-10 ${backend}: max |Δlogit| vs PyTorch + PIL ${worst.toExponential(2)}`);
        assert.ok(worst <= 1e-3, `max |Δlogit| ${worst}`);
      } finally {
        await resnet.close();
      }
    });
  }

  it('reads the config carried inside model.pt when the folder has no config.json', async () => {
    const dir = folder('resnet-embedded', { 'model.pt': join(RESNET, 'model.pt'), 'labels.txt': join(RESNET, 'labels.txt') });
    const [embedded, sidecar] = await Promise.all([loadModelFolder(dir), loadModelFolder(RESNET)]);
    try {
      assert.deepEqual(embedded.config, sidecar.config);
      assert.equal(embedded.config.preprocessing.interpolation, 'bicubic');
    } finally {
      await embedded.backend.close();
      await sidecar.backend.close();
    }
  });

  it('a bilinear config misses the reference by far more than 1e-3: the comparison sees the filter', async () => {
    const config = JSON.parse(readFileSync(join(RESNET, 'config.json'), 'utf8'));
    config.preprocessing.interpolation = 'bilinear';
    const dir = folder('resnet-bilinear', { 'model.pt': join(RESNET, 'model.pt'), 'labels.txt': join(RESNET, 'labels.txt') }, { 'config.json': JSON.stringify(config) });
    const bilinear = await Classifier.create({ model: dir, decoder: 'sharp', exactDecode: true });
    try {
      const { file, logits } = RESNET_REFERENCE.photos[0];
      assert.ok(distance((await bilinear.backend.forward(await bilinear.preprocess(join(PHOTOS_DIR, file)))).data, logits).max > 1e-2);
    } finally {
      await bilinear.close();
    }
  });

  it('runs batches beyond max_batch 8 in parts, with the answers of single photos', async () => {
    const resnet = await Classifier.create({ model: RESNET, decoder: 'sharp' });
    try {
      const files = photos(PHOTOS_DIR).slice(0, 11);
      const batch = await resnet.classifyBatch(files, 3);
      assert.equal(batch.length, 11);
      for (const [i, file] of files.entries()) assert.deepEqual(batch[i].map((p) => p.index), (await resnet.classify(file, 3)).map((p) => p.index), file);
    } finally {
      await resnet.close();
    }
  });
});
