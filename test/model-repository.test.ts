// `serve --model-repository` over real HTTP, the real command in a child process: the three
// artifacts of model/ (float TorchScript, int8, ONNX) and the ResNet-18 fixture (TorchScript and
// ONNX) served at once beside broken folders, each model's answers checked against PyTorch's;
// then load/unload with --enable-model-control, and two busy models taking turns.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Classifier } from '../src/classifier.js';
import { packagePath } from '../src/paths.js';
import { PHOTOS_DIR, SAMPLES_DIR, startServe } from './helpers.js';
import { distance } from './image-fixtures.js';

const MODEL_DIR = packagePath('model');
const RESNET = packagePath('test', 'fixtures', 'models', 'resnet18-10');
const REFERENCE_DIR = packagePath('test', 'fixtures', 'reference');
const reference = JSON.parse(readFileSync(join(REFERENCE_DIR, 'reference.json'), 'utf8')) as {
  files: string[];
  tensors: { photos: string[] };
};
const referenceLogits = new Float32Array(readFileSync(join(REFERENCE_DIR, 'logits-float.f32')).buffer.slice(0));
const resnetReference = JSON.parse(readFileSync(`${RESNET}.reference.json`, 'utf8')).photos as { file: string; logits: number[] }[];

const scratch = mkdtempSync(join(tmpdir(), 'pytorch-infer-repository-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A model folder of `repository`: links to existing files, and files with the given text. */
function folder(repository: string, name: string, links: Record<string, string>, files: Record<string, string> = {}): void {
  const dir = join(repository, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, target] of Object.entries(links)) symlinkSync(target, join(dir, file));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
}

const LABELS = join(MODEL_DIR, 'class_names.txt');
const mobilenet = (file: string, as = 'model.pt') => ({ [as]: join(MODEL_DIR, file), 'labels.txt': LABELS });
const resnet = (file: string) => ({
  [file]: join(RESNET, file), 'labels.txt': join(RESNET, 'labels.txt'), 'config.json': join(RESNET, 'config.json'),
});

async function call(base: string, method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(path, base), { method, body, headers });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}
const jpeg = (file: string) => ({ body: readFileSync(file), headers: { 'content-type': 'image/jpeg' } });
const predict = (base: string, query: string, file: string) => call(base, 'POST', `/v1/predict?${query}`, jpeg(file).body, jpeg(file).headers);

/** v2 infer with one FP32 input row (a reference tensor), answering the output `output`. */
async function inferTensor(base: string, model: string, data: Float32Array, shape: number[], output: string) {
  const request = { inputs: [{ name: 'input', datatype: 'FP32', shape, data: Array.from(data) }], outputs: [{ name: output }] };
  return call(base, 'POST', `/v2/models/${model}/infer`, JSON.stringify(request), { 'content-type': 'application/json' });
}

async function inferImage(base: string, model: string, file: string, output = 'logits') {
  const request = { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [readFileSync(file).toString('base64')] }], outputs: [{ name: output }] };
  return call(base, 'POST', `/v2/models/${model}/infer`, JSON.stringify(request), { 'content-type': 'application/json' });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => distance(a, b).max;
const argmax = (row: ArrayLike<number>) => Array.from(row).reduce((best, v, i, all) => (v > all[best] ? i : best), 0);
const SERVE = ['serve', '--port', '0', '--decoder', 'sharp', '--exact-decode', '--max-batch', '4', '--decode-workers', '1'];

describe('a repository of six models and three broken folders', () => {
  const repository = join(scratch, 'models');
  let base: string;
  let stop: () => Promise<void>;
  let int8Model: Classifier;

  before(async () => {
    // One thread, as the service runs each model's lanes here: fbgemm's int8 kernels split work
    // by thread count and round differently with two (max |Δlogit| 0.46 on the bullfrog).
    int8Model = await Classifier.create({ model: join(MODEL_DIR, 'mobilenet_v2_quantized_scripted.pt'), threads: 1 });
    folder(repository, 'mobilenet', mobilenet('traced_model.pt'));
    folder(repository, 'mobilenet-int8', mobilenet('mobilenet_v2_quantized_scripted.pt'));
    folder(repository, 'mobilenet-onnx', mobilenet('mobilenet_v2.onnx', 'model.onnx'));
    folder(repository, 'resnet18', resnet('model.pt'));
    folder(repository, 'resnet18-onnx', resnet('model.onnx'));
    // Says its output is probabilities (it is MobileNetV2's logits): the service must not softmax it.
    folder(repository, 'declared-probabilities', mobilenet('traced_model.pt'), { 'config.json': '{"output": "probabilities"}' });
    folder(repository, 'wrong-labels', { 'model.pt': join(MODEL_DIR, 'traced_model.pt'), 'labels.txt': join(RESNET, 'labels.txt') });
    folder(repository, 'bad-config', mobilenet('traced_model.pt'), { 'config.json': '{"preprocessing": {"mean": [0.5]}}' });
    folder(repository, 'no-model', { 'labels.txt': LABELS });
    ({ base, stop } = await startServe([...SERVE, '--model-repository', repository, '--default-model', 'resnet18']));
  });
  after(async () => {
    await int8Model?.close();
    await stop?.();
  });

  it('lists every folder; the broken ones not ready, each with its reason naming the file and the field', async () => {
    const { status, json } = await call(base, 'GET', '/v1/models');
    assert.equal(status, 200);
    assert.equal(json.default, 'resnet18');
    const byName = Object.fromEntries(json.models.map((m: { name: string }) => [m.name, m]));
    assert.deepEqual(Object.keys(byName).sort(), [
      'bad-config', 'declared-probabilities', 'mobilenet', 'mobilenet-int8', 'mobilenet-onnx', 'no-model', 'resnet18', 'resnet18-onnx', 'wrong-labels',
    ]);
    for (const name of ['mobilenet', 'mobilenet-int8', 'mobilenet-onnx', 'resnet18', 'resnet18-onnx', 'declared-probabilities']) {
      assert.equal(byName[name].ready, true, name);
    }
    assert.deepEqual(
      { ...byName.resnet18, reason: undefined },
      { name: 'resnet18', version: '1', ready: true, state: 'READY', reason: undefined, backend: 'torchscript', classes: 10, input_size: [160, 160], output: 'logits' },
    );
    assert.equal(byName['mobilenet-onnx'].backend, 'onnx');
    assert.equal(byName['declared-probabilities'].output, 'probabilities');
    assert.deepEqual(byName['wrong-labels'], {
      name: 'wrong-labels', ready: false, state: 'UNAVAILABLE', reason: 'wrong-labels/labels.txt names 10 classes, but wrong-labels/model.pt gives 1000',
    });
    assert.equal(byName['bad-config'].reason, 'bad-config/config.json: preprocessing.mean must be 3 numbers (R, G, B), got [0.5]');
    assert.match(byName['no-model'].reason, /^model folder .*no-model has no model\.pt or model\.onnx$/);

    const index = await call(base, 'POST', '/v2/repository/index');
    assert.equal(index.status, 200);
    assert.deepEqual(index.json.find((e: { name: string }) => e.name === 'wrong-labels'), { name: 'wrong-labels', state: 'UNAVAILABLE', reason: byName['wrong-labels'].reason });
    assert.deepEqual(index.json.find((e: { name: string }) => e.name === 'mobilenet'), { name: 'mobilenet', version: '1', state: 'READY', reason: '' });
    const ready = await call(base, 'POST', '/v2/repository/index', JSON.stringify({ ready: true }), { 'content-type': 'application/json' });
    assert.equal(ready.json.length, 6);
  });

  it('float TorchScript and ONNX give PyTorch\'s logits on the reference tensors; int8 the artifact\'s own', async () => {
    for (const photo of reference.tensors.photos) {
      const data = new Float32Array(readFileSync(join(REFERENCE_DIR, 'tensors', photo.replace(/\.JPEG$/, '.f32'))).buffer.slice(0));
      const row = reference.files.indexOf(photo);
      const expected = referenceLogits.subarray(row * 1000, (row + 1) * 1000);
      for (const model of ['mobilenet', 'mobilenet-onnx']) {
        const { status, json } = await inferTensor(base, model, data, [1, 3, 224, 224], 'logits');
        assert.equal(status, 200, JSON.stringify(json));
        assert.equal(json.model_name, model);
        assert.ok(maxDiff(json.outputs[0].data, expected) < 2e-3, `${model} ${photo}: max |Δlogit| ${maxDiff(json.outputs[0].data, expected)}`);
      }
      const int8 = await inferTensor(base, 'mobilenet-int8', data, [1, 3, 224, 224], 'logits');
      assert.equal(int8.status, 200);
      // The artifact's own answer, run here: the service adds nothing. (Not PyTorch's: its int8
      // kernels round differently from LibTorch's optimised graph, and on close calls the top-1 moves.)
      const own = (await int8Model.backend.forward({ data, shape: [1, 3, 224, 224] })).data;
      assert.ok(maxDiff(int8.json.outputs[0].data, own) < 1e-4, `int8 ${photo}: max |Δlogit| ${maxDiff(int8.json.outputs[0].data, own)}`);
    }
  });

  it('ResNet-18 gives PyTorch + PIL\'s logits on photos, within 1e-3, from both backends at once', async () => {
    for (const { file, logits } of resnetReference) {
      for (const model of ['resnet18', 'resnet18-onnx']) {
        const { status, json } = await inferImage(base, model, join(PHOTOS_DIR, file));
        assert.equal(status, 200, JSON.stringify(json));
        assert.deepEqual(json.outputs[0].shape, [1, 10]);
        assert.ok(maxDiff(logits, json.outputs[0].data) <= 1e-3, `${model} ${file}: max |Δlogit| ${maxDiff(logits, json.outputs[0].data)}`);
      }
    }
  });

  it('v1 answers each model by ?model= with its own labels and softmax; without ?model= the --default-model', async () => {
    const photo = join(PHOTOS_DIR, resnetReference[1].file);
    const { logits } = resnetReference[1];
    const exp = logits.map((v) => Math.exp(v - Math.max(...logits)));
    const softmax = exp.map((v) => v / exp.reduce((a, b) => a + b));
    for (const query of ['model=resnet18&top=10', 'top=10']) {
      const { status, json } = await predict(base, query, photo);
      assert.equal(status, 200);
      assert.deepEqual(json.model, { name: 'resnet18', version: '1' });
      const predictions: { label: string; index: number; probability: number }[] = json.results[0].predictions;
      assert.equal(predictions.length, 10);
      assert.equal(predictions[0].label, readFileSync(join(RESNET, 'labels.txt'), 'utf8').split('\n')[argmax(logits)]);
      for (const p of predictions) assert.ok(Math.abs(p.probability - softmax[p.index]) < 1e-4, `${p.label}`);
    }
    const brambling = join(SAMPLES_DIR, 'n01530575_brambling.JPEG');
    for (const model of ['mobilenet', 'mobilenet-int8', 'mobilenet-onnx']) {
      const { status, json } = await predict(base, `model=${model}&top=1`, brambling);
      assert.equal(status, 200);
      assert.deepEqual(json.model, { name: model, version: '1' });
      assert.equal(json.results[0].predictions[0].label, 'brambling', model);
    }
  });

  it('takes a model that says it gives probabilities at its word: no softmax in v1 or v2, and no "logits" output', async () => {
    const brambling = join(SAMPLES_DIR, 'n01530575_brambling.JPEG');
    const raw = (await inferImage(base, 'mobilenet', brambling)).json.outputs[0].data as number[];
    const { json } = await predict(base, 'model=declared-probabilities&top=1', brambling);
    const [top] = json.results[0].predictions;
    assert.equal(top.index, argmax(raw));
    assert.ok(top.probability > 1 && Math.abs(top.probability - raw[top.index]) < 1e-3, `p=${top.probability}, logit ${raw[top.index]}`);
    const v2 = await inferImage(base, 'declared-probabilities', brambling, 'probabilities');
    assert.ok(Math.abs(v2.json.outputs[0].data[top.index] - raw[top.index]) < 1e-3);
    const metadata = await call(base, 'GET', '/v2/models/declared-probabilities');
    assert.deepEqual(metadata.json.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 1000] }]);
    const logits = await inferImage(base, 'declared-probabilities', brambling, 'logits');
    assert.deepEqual(logits, { status: 400, json: { error: "unknown output 'logits'; model 'declared-probabilities' has outputs probabilities" } });
  });

  it('gives each model\'s real shapes in v2 metadata, and readiness per model', async () => {
    const { json } = await call(base, 'GET', '/v2/models/resnet18-onnx/versions/1');
    assert.deepEqual(json, {
      name: 'resnet18-onnx',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 160, 160] }, { name: 'image', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }],
    });
    assert.deepEqual((await call(base, 'GET', '/v2/models/mobilenet')).json.inputs[0].shape, [-1, 3, 224, 224]);
    assert.deepEqual(await call(base, 'GET', '/v2/models/resnet18/ready'), { status: 200, json: { name: 'resnet18', ready: true } });
    assert.deepEqual(await call(base, 'GET', '/v2/models/wrong-labels/ready'), {
      status: 503, json: { name: 'wrong-labels', ready: false, reason: 'wrong-labels/labels.txt names 10 classes, but wrong-labels/model.pt gives 1000' },
    });
    assert.equal((await call(base, 'GET', '/v2/health/ready')).status, 200, 'the server serves while some models are broken');
    const wrongShape = await inferTensor(base, 'resnet18', new Float32Array(3 * 224 * 224), [1, 3, 224, 224], 'logits');
    assert.deepEqual(wrongShape, { status: 400, json: { error: "input 'input' has shape [1,3,224,224]; expected [N, 3, 160, 160]" } });
  });

  it('answers an unknown model with 404 and the names it has; a broken one with 503 and its reason', async () => {
    const names = ['bad-config', 'declared-probabilities', 'mobilenet', 'mobilenet-int8', 'mobilenet-onnx', 'no-model', 'resnet18', 'resnet18-onnx', 'wrong-labels'];
    const unknown = await predict(base, 'model=resnet50', join(SAMPLES_DIR, 'n01530575_brambling.JPEG'));
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json.models, names);
    assert.match(unknown.json.error, /^unknown model 'resnet50'; this server has 'bad-config', /);
    assert.equal((await call(base, 'GET', '/v2/models/resnet50')).status, 404);
    assert.equal((await call(base, 'GET', '/v2/models/resnet50/ready')).status, 404);
    const broken = await predict(base, 'model=bad-config', join(SAMPLES_DIR, 'n01530575_brambling.JPEG'));
    assert.equal(broken.status, 503);
    assert.match(broken.json.error, /^model 'bad-config' is not ready \(unavailable: bad-config\/config\.json: preprocessing\.mean/);
  });

  it('refuses load and unload without --enable-model-control', async () => {
    for (const action of ['load', 'unload']) {
      const { status, json } = await call(base, 'POST', `/v2/repository/models/mobilenet/${action}`);
      assert.equal(status, 403);
      assert.match(json.error, /^model control is off: start serve with --model-repository DIR --enable-model-control/);
    }
    assert.equal((await call(base, 'GET', '/v2/models/mobilenet/ready')).status, 200);
  });

  it('labels the metrics by model', async () => {
    const text = await (await fetch(new URL('/metrics', base))).text();
    for (const model of ['mobilenet', 'resnet18-onnx']) {
      assert.match(text, new RegExp(`^inference_duration_seconds_count\\{model="${model}"\\} [1-9]`, 'm'), model);
      assert.match(text, new RegExp(`^http_requests_total\\{route="/v2/models/:model/infer",method="POST",status="200",model="${model}"\\} [1-9]`, 'm'), model);
    }
    assert.match(text, /^model_info\{name="resnet18",version="1",backend="torchscript",decoder="sharp",threads="\d+",max_batch="4"\} 1$/m);
    assert.doesNotMatch(text, /model="resnet50"/, 'a name a client made up is no label');
  });
});

describe('model control (--enable-model-control) and two busy models', () => {
  const repository = join(scratch, 'controlled');
  let base: string;
  let stop: () => Promise<void>;
  const load = (name: string, body?: string) =>
    call(base, 'POST', `/v2/repository/models/${name}/load`, body, body === undefined ? {} : { 'content-type': 'application/json' });
  const unload = (name: string) => call(base, 'POST', `/v2/repository/models/${name}/unload`);
  const state = async (name: string) => (await call(base, 'POST', '/v2/repository/index')).json.find((e: { name: string }) => e.name === name);
  const brambling = join(SAMPLES_DIR, 'n01530575_brambling.JPEG');

  before(async () => {
    folder(repository, 'mobilenet', mobilenet('traced_model.pt'));
    folder(repository, 'mobilenet-b', mobilenet('traced_model.pt'));
    folder(repository, 'resnet18', resnet('model.pt'));
    folder(repository, 'broken', { 'model.pt': join(RESNET, 'model.pt'), 'labels.txt': LABELS });
    symlinkSync(join(repository, 'resnet18'), join(repository, 'linked'));
    ({ base, stop } = await startServe([...SERVE, '--model-repository', repository, '--enable-model-control']));
  });
  after(() => stop?.());

  it('shares the CPU: two models busy at once both progress, neither waits for the other to finish', async () => {
    const REQUESTS = 24;
    const done: Record<string, number> = { mobilenet: 0, 'mobilenet-b': 0 };
    let firstFinished: { model: string; other: number } | undefined;
    const client = async (model: string) => {
      for (let i = 0; i < REQUESTS / 4; i++) {
        const { status, json } = await predict(base, `model=${model}&top=1`, brambling);
        assert.equal(status, 200);
        assert.equal(json.results[0].predictions[0].label, 'brambling');
        done[model]++;
      }
    };
    const busy = (model: string) =>
      Promise.all(Array.from({ length: 4 }, () => client(model))).then(() => {
        const other = model === 'mobilenet' ? 'mobilenet-b' : 'mobilenet';
        firstFinished ??= { model, other: done[other] };
      });
    await Promise.all([busy('mobilenet'), busy('mobilenet-b')]);
    // Round-robin turns give each about half; a starved model would have next to nothing done.
    assert.ok(firstFinished!.other >= REQUESTS / 3, `when ${firstFinished!.model} had answered ${REQUESTS}, the other had ${firstFinished!.other}`);
  });

  it('refuses names that are not a folder of the repository: paths, dots, odd characters, links, absent folders', async () => {
    // (A bare '..' segment never reaches a route: URLs resolve it first.)
    for (const name of ['a..b', '..%2Fcontrolled%2Fresnet18', 'a%2Fb', '%2Ftmp', '.hidden', 'x%3By', 'x%20y', '-rf']) {
      const { status, json } = await load(name);
      assert.equal(status, 400, name);
      assert.match(json.error, /is not a model name: 1 to 128 letters, digits/, name);
    }
    assert.deepEqual(await load('absent'), { status: 400, json: { error: "the model repository has no folder 'absent'" } });
    assert.deepEqual(await load('linked'), { status: 400, json: { error: "the model repository has no folder 'linked' (a symbolic link is not a model folder)" } });
    const withFiles = await load('resnet18', JSON.stringify({ parameters: { config: '{}', 'file:1/model.pt': 'AAAA' } }));
    assert.equal(withFiles.status, 400);
    assert.match(withFiles.json.error, /^load takes no parameters: a model is loaded only from its folder in the repository/);
    assert.equal((await unload('absent')).status, 404);
    assert.equal((await state('resnet18')).state, 'READY', 'nothing of that changed a model');
  });

  it('loads a folder fixed or added after the start, by name', async () => {
    assert.equal((await state('broken')).state, 'UNAVAILABLE');
    const failed = await load('broken');
    assert.equal(failed.status, 400);
    assert.match(failed.json.error, /^model 'broken' did not load: broken\/labels\.txt names 1000 classes, but broken\/model\.pt gives 10$/);
    rmSync(join(repository, 'broken', 'labels.txt'));
    symlinkSync(join(RESNET, 'labels.txt'), join(repository, 'broken', 'labels.txt'));
    assert.deepEqual(await load('broken'), { status: 200, json: {} });
    assert.deepEqual(await state('broken'), { name: 'broken', version: '1', state: 'READY', reason: '' });

    // A reload of a serving model: the new one takes over, the old one unloads, the series stays.
    assert.deepEqual(await load('broken'), { status: 200, json: {} });
    assert.equal((await state('broken')).state, 'READY');
    assert.match(await (await fetch(new URL('/metrics', base))).text(), /^model_info\{name="broken",/m);

    folder(repository, 'later', resnet('model.onnx'));
    assert.equal((await load('later')).status, 200);
    const { status, json } = await predict(base, 'model=later&top=1', join(PHOTOS_DIR, resnetReference[0].file));
    assert.equal(status, 200);
    assert.equal(json.results[0].predictions[0].index, argmax(resnetReference[0].logits));
  });

  it('unloads a model once its requests in flight have finished, then loads it again', async () => {
    // Eight requests of eight photos each; the unload is asked for once the first has answered.
    const form = () => {
      const body = new FormData();
      for (let i = 0; i < 8; i++) body.append('photo', new Blob([readFileSync(brambling)], { type: 'image/jpeg' }), `${i}.jpg`);
      return body;
    };
    let unloadAsked = 0;
    let unloaded = 0;
    const finished: { status: number; at: number; json: { error?: string; results?: { predictions: { label: string }[] }[] } }[] = [];
    const requests = Array.from({ length: 8 }, async () => {
      const answer = await call(base, 'POST', '/v1/predict?model=mobilenet&top=1', form());
      finished.push({ ...answer, at: performance.now() });
    });
    await Promise.race(requests);
    unloadAsked = performance.now();
    const unloading = unload('mobilenet').then((answer) => ((unloaded = performance.now()), answer));
    await Promise.all(requests);
    assert.deepEqual(await unloading, { status: 200, json: {} });

    const ok = finished.filter((f) => f.status === 200);
    for (const f of finished) {
      if (f.status === 200) assert.deepEqual(f.json.results!.map((r) => r.predictions[0].label), Array(8).fill('brambling'));
      else assert.deepEqual([f.status, f.json.error], [503, "model 'mobilenet' is not ready (unloading)"], JSON.stringify(f));
    }
    assert.ok(ok.some((f) => f.at > unloadAsked), 'requests in flight when the unload was asked for finished');
    assert.ok(ok.every((f) => f.at <= unloaded), 'the unload answered after them');

    assert.deepEqual(await state('mobilenet'), { name: 'mobilenet', state: 'UNAVAILABLE', reason: 'unloaded' });
    assert.equal((await predict(base, 'model=mobilenet', brambling)).status, 503);
    assert.equal((await predict(base, 'model=mobilenet-b&top=1', brambling)).status, 200, 'the others serve on');
    assert.doesNotMatch(await (await fetch(new URL('/metrics', base))).text(), /model_info\{name="mobilenet",/);
    assert.equal((await unload('mobilenet')).status, 409);

    assert.deepEqual(await load('mobilenet'), { status: 200, json: {} });
    assert.equal((await predict(base, 'model=mobilenet&top=1', brambling)).json.results[0].predictions[0].label, 'brambling');
  });
});

describe('serve --model-repository: bad command lines', () => {
  it('refuses flags that do not go together, a missing directory and an unknown default, naming them', () => {
    const repository = join(scratch, 'one-broken');
    folder(repository, 'broken', { 'labels.txt': LABELS });
    const cases: [string[], string][] = [
      [['--model-repository', repository, '--model', join(MODEL_DIR, 'traced_model.pt')], '--model does not go with --model-repository: each folder has its model, labels.txt and config.json, and its name'],
      [['--model-repository', repository, '--model-name', 'x'], '--model-name does not go with --model-repository'],
      [['--default-model', 'a'], '--default-model needs --model-repository'],
      [['--enable-model-control'], '--enable-model-control needs --model-repository'],
      [['--model-repository', join(scratch, 'absent')], `cannot read the model repository ${join(scratch, 'absent')}: no such directory`],
      [['--model-repository', repository, '--default-model', 'nope'], `--default-model nope: the repository ${repository} has no such folder (it has broken)`],
    ];
    for (const [args, message] of cases) {
      const run = spawnSync(process.execPath, [packagePath('dist', 'cli.js'), 'serve', '--port', '0', ...args], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 1, args.join(' '));
      assert.ok(run.stderr.includes(`error: ${message}`), `${args.join(' ')}: ${run.stderr}`);
    }
  });
});
