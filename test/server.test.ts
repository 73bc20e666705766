// The service in-process under tsx: one real server on 127.0.0.1 (random port), the real
// model and photos, every endpoint and error path, and dynamic batching.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { Classifier } from '../src/classifier.js';
import { loadTensor } from '../src/image/index.js';
import { createServer } from '../src/server/app.js';
import { photos, SAMPLES_DIR, trueIndex } from './helpers.js';
import { pngHeader } from './image-fixtures.js';

const MAX_BODY = 8 * 1024 * 1024;
const MAX_QUEUE = 24;
const FILES = photos().slice(0, 8);
const PHOTO = FILES[0];

let app: FastifyInstance;
let base: string;

before(async () => {
  const classifier = await Classifier.create({ decoder: 'sharp' });
  app = await createServer(classifier, {
    modelName: 'mobilenet_v2', modelVersion: '1', maxBatch: 8, maxDelayMs: 20, maxQueue: MAX_QUEUE,
    decodeWorkers: 1, maxBody: MAX_BODY, timeoutMs: 30_000,
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(() => app.close());

const url = (path: string) => new URL(path, base);
const bytes = (file: string) => readFileSync(file);
const labelOf = (index: number) => readFileSync(`${SAMPLES_DIR}/../model/class_names.txt`, 'utf8').split('\n')[index];

async function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const response = await fetch(url(path), { method: 'POST', body, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

const predictJpeg = (file: string, top = 5) => post(`/v1/predict?top=${top}`, bytes(file), { 'content-type': 'image/jpeg' });
/** A 415's reason names what is accepted. */
const ACCEPTED = (what: string) =>
  new RegExp(`^${what}: send a photo as image/\\*, application/octet-stream, multipart/form-data or JSON \\{"image": "<base64>"\\}$`);
const MULTIPART = { 'content-type': 'multipart/form-data; boundary=b' };

/** A metric of the served model (labelled model="mobilenet_v2"). */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(url('/metrics'))).text();
  return Number(text.match(new RegExp(`^${name}\\{model="mobilenet_v2"\\} (\\S+)$`, 'm'))![1]);
}

describe('POST /v1/predict', () => {
  it('answers raw JPEG bytes with the top-k, the model and timings', async () => {
    const { status, json } = await predictJpeg(PHOTO, 3);
    assert.equal(status, 200);
    assert.deepEqual(json.model, { name: 'mobilenet_v2', version: '1' });
    assert.equal(json.results.length, 1);
    const [best, ...rest] = json.results[0].predictions;
    assert.equal(best.index, trueIndex(PHOTO));
    assert.equal(rest.length, 2);
    assert.ok(best.probability > rest[0].probability && best.probability <= 1);
    for (const key of ['decode_ms', 'queue_ms', 'inference_ms', 'batch_size', 'total_ms']) assert.equal(typeof json.timings[key], 'number', key);
  });

  it('takes several multipart files and answers each by file name', async () => {
    const form = new FormData();
    for (const file of FILES.slice(0, 3)) form.append('photo', new Blob([bytes(file)], { type: 'image/jpeg' }), file.split('/').pop());
    const { status, json } = await post('/v1/predict?top=1', form);
    assert.equal(status, 200);
    assert.deepEqual(json.results.map((r: { filename: string }) => r.filename), FILES.slice(0, 3).map((f) => f.split('/').pop()));
    json.results.forEach((r: { predictions: { index: number }[] }, i: number) => assert.equal(r.predictions[0].index, trueIndex(FILES[i])));
  });

  it('takes JSON {"image": base64} and gives the same answer as raw bytes', async () => {
    const json = await post('/v1/predict', JSON.stringify({ image: bytes(PHOTO).toString('base64') }), { 'content-type': 'application/json' });
    const raw = await predictJpeg(PHOTO);
    assert.equal(json.status, 200);
    assert.deepEqual(json.json.results, raw.json.results);
  });

  it('refuses bad requests with a JSON reason', async () => {
    const cases: [string, Promise<{ status: number; json: { error: string; code?: string } }>, number, RegExp][] = [
      ['text', post('/v1/predict', 'hello', { 'content-type': 'text/plain' }), 415, ACCEPTED('unsupported Content-Type \'text/plain\'')],
      ['no Content-Type', post('/v1/predict', new Uint8Array([1, 2, 3])), 415, ACCEPTED('no Content-Type')],
      ['not an image', post('/v1/predict', 'hello', { 'content-type': 'image/jpeg' }), 400, /not an image/],
      ['a huge PNG', post('/v1/predict', pngHeader(100_000, 100_000), { 'content-type': 'image/png' }), 400, /over the 40 MP limit/],
      ['a truncated JPEG', post('/v1/predict', bytes(PHOTO).subarray(0, 2000), { 'content-type': 'image/jpeg' }), 400, /./],
      ['an empty body', post('/v1/predict', new Uint8Array(0), { 'content-type': 'image/jpeg' }), 400, /empty/i],
      ['too big', post('/v1/predict', new Uint8Array(MAX_BODY + 1), { 'content-type': 'image/jpeg' }), 413, new RegExp(`larger than the ${MAX_BODY}-byte limit`)],
      ['a file too big', post('/v1/predict', formWith([new Uint8Array(MAX_BODY + 1)])), 413, new RegExp(`a file is larger than the ${MAX_BODY}-byte limit`)],
      ['JSON without image', post('/v1/predict', '{"photo": "x"}', { 'content-type': 'application/json' }), 400, /image/],
      ['broken JSON', post('/v1/predict', '{"image": ', { 'content-type': 'application/json' }), 400, /JSON/],
      ['JSON image a number', post('/v1/predict', '{"image": 5}', { 'content-type': 'application/json' }), 400, /image must be a string/],
      ['JSON image null', post('/v1/predict', '{"image": null}', { 'content-type': 'application/json' }), 400, /image must be a string/],
      ['top=0', post('/v1/predict?top=0', bytes(PHOTO), { 'content-type': 'image/jpeg' }), 400, /top/],
      ['a form without files', post('/v1/predict', formWithField()), 400, /no file/],
      ['more files than the queue holds', post('/v1/predict', formWithPhotos(MAX_QUEUE + 1)), 413, new RegExp(`too many files in the form: at most ${MAX_QUEUE}`)],
      ['a form cut short', post('/v1/predict', unfinishedForm(), MULTIPART), 400, /malformed multipart\/form-data/],
      ['a form with no boundary', post('/v1/predict', 'hello', { 'content-type': 'multipart/form-data' }), 400, /malformed multipart\/form-data/],
    ];
    for (const [name, request, status, reason] of cases) {
      const { status: got, json } = await request;
      assert.equal(got, status, `${name}: ${JSON.stringify(json)}`);
      assert.match(json.error, reason, name);
    }
    const { status, json } = await post('/v1/predict', pngHeader(100_000, 100_000), { 'content-type': 'image/png' });
    assert.deepEqual([status, json.code], [400, 'TOO_MANY_PIXELS']);
  });

  it('answers 503 with Retry-After while the queue is full', async () => {
    const decodes = await metric('image_decode_duration_seconds_count');
    const full = post('/v1/predict?top=1', formWithPhotos(MAX_QUEUE));
    // Once its first image is decoded the form is in, and its 24 images stay in hand until it is answered.
    for (let i = 0; i < 2000 && (await metric('image_decode_duration_seconds_count')) === decodes; i++) {
      await sleep(5);
    }
    const refused = await predictJpeg(PHOTO);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(refused.json.error, /too busy: 24 images in hand, limit 24/);
    assert.equal((await full).status, 200, 'the accepted request still completes');
  });

  it('refuses a form with one bad file only after all its images are decoded, and frees their queue slots', async () => {
    const decodes = await metric('image_decode_duration_seconds_count');
    const files = [Buffer.from('not a photo'), ...FILES.map(bytes)];
    const { status, json } = await post('/v1/predict', formWith(files));
    assert.deepEqual([status, json.code], [400, 'NOT_AN_IMAGE']);
    assert.equal(await metric('image_decode_duration_seconds_count'), decodes + files.length, 'every image decoded before the answer');
    assert.equal(await metric('inference_queue_depth'), 0);
    assert.equal((await post('/v1/predict?top=1', formWithPhotos(MAX_QUEUE))).status, 200, 'every queue slot is free again');
  });

  it('times decoding in the worker: the histogram leaves out the wait for the worker', async () => {
    const [sum, count] = [await metric('image_decode_duration_seconds_sum'), await metric('image_decode_duration_seconds_count')];
    const { status, json } = await post('/v1/predict?top=1', formWith(FILES.map(bytes)));
    assert.equal(status, 200);
    assert.equal(await metric('image_decode_duration_seconds_count'), count + FILES.length);
    // One worker decodes the photos one after another, so their decode times add up to no more
    // than the request's decode phase; with the wait counted, they would add up to several times it.
    const decodedMs = (await metric('image_decode_duration_seconds_sum') - sum) * 1000;
    assert.ok(decodedMs <= json.timings.decode_ms + 1, `${decodedMs} ms of decodes in a ${json.timings.decode_ms} ms decode phase`);
  });

  it('batches concurrent requests and gives exactly the single-request answers', async () => {
    const alone = [];
    for (const file of FILES) alone.push((await predictJpeg(file)).json.results[0].predictions);
    const together = await Promise.all([...FILES, ...FILES].map((file) => predictJpeg(file)));
    together.forEach(({ status, json }, i) => {
      assert.equal(status, 200);
      // The same classes in the same order; a batch changes the float summation order, so the
      // probabilities agree to ~1e-6, not bit for bit.
      const expected = alone[i % FILES.length];
      assert.deepEqual(json.results[0].predictions.map(labelIndex), expected.map(labelIndex), FILES[i % FILES.length]);
      json.results[0].predictions.forEach((p: { probability: number }, k: number) =>
        assert.ok(Math.abs(p.probability - expected[k].probability) < 1e-5));
    });
    assert.ok(together.some(({ json }) => json.timings.batch_size > 1));
    const metrics = await (await fetch(url('/metrics'))).text();
    const bucket = (le: string) => Number(metrics.match(new RegExp(`inference_batch_size_bucket\\{le="${le.replace('+', '\\+')}",model="mobilenet_v2"\\} (\\d+)`))![1]);
    assert.ok(bucket('+Inf') > bucket('1'), 'some forwards ran more than one image');
  });
});

const labelIndex = ({ label, index }: { label: string; index: number }) => `${index}:${label}`;

function formWithField(): FormData {
  const form = new FormData();
  form.append('note', 'no photo here');
  return form;
}

function formWithPhotos(n: number): FormData {
  return formWith(Array.from({ length: n }, () => bytes(PHOTO)));
}

/** A photo in a form that never reaches its closing boundary. */
function unfinishedForm(): Buffer {
  return Buffer.concat([Buffer.from('--b\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n\r\n'), bytes(PHOTO)]);
}

function formWith(files: Uint8Array[]): FormData {
  const form = new FormData();
  files.forEach((file, i) => form.append('photo', new Blob([file], { type: 'image/jpeg' }), `p${i}.jpg`));
  return form;
}

describe('Open Inference Protocol v2', () => {
  const infer = '/v2/models/mobilenet_v2/infer';

  it('reports health, server and model metadata', async () => {
    const get = async (path: string) => {
      const response = await fetch(url(path));
      return { status: response.status, json: await response.json() };
    };
    assert.deepEqual(await get('/v2/health/live'), { status: 200, json: { live: true } });
    assert.deepEqual(await get('/v2/health/ready'), { status: 200, json: { ready: true } });
    const server = await get('/v2');
    assert.equal(server.json.name, 'pytorch-infer');
    assert.ok(server.json.extensions.includes('classification') && server.json.extensions.includes('binary_tensor_data'));
    for (const path of ['/v2/models/mobilenet_v2', '/v2/models/mobilenet_v2/versions/1']) {
      const { status, json } = await get(path);
      assert.equal(status, 200);
      assert.deepEqual(json.versions, ['1']);
      assert.equal(json.platform, 'pytorch_libtorch');
      assert.deepEqual(json.inputs, [
        { name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] },
        { name: 'image', datatype: 'BYTES', shape: [-1] },
      ]);
      assert.deepEqual(json.outputs.map((o: { name: string }) => o.name), ['logits', 'probabilities']);
    }
    assert.deepEqual(await get('/v2/models/mobilenet_v2/ready'), { status: 200, json: { name: 'mobilenet_v2', ready: true } });
    assert.deepEqual(await get('/v2/models/mobilenet_v2/versions/1/ready'), { status: 200, json: { name: 'mobilenet_v2', ready: true } });
    assert.deepEqual(await get('/v2/models/resnet50'), { status: 404, json: { error: "unknown model 'resnet50'; this server has 'mobilenet_v2'", models: ['mobilenet_v2'] } });
    assert.equal((await get('/v2/models/mobilenet_v2/versions/7')).status, 404);
  });

  it('runs an FP32 tensor in JSON (the KServe/Triton JSON shape) and returns logits and probabilities', async () => {
    const tensors = await Promise.all(FILES.slice(0, 2).map((f) => loadTensor(bytes(f), { decoder: 'sharp' })));
    const data = tensors.flatMap((t) => Array.from(t));
    const { status, json } = await post(infer, JSON.stringify({
      id: 'req-1',
      inputs: [{ name: 'input', shape: [2, 3, 224, 224], datatype: 'FP32', data }],
    }), { 'content-type': 'application/json' });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.model_name, 'mobilenet_v2');
    assert.equal(json.id, 'req-1');
    const [logits, probabilities] = json.outputs;
    assert.deepEqual([logits.name, logits.datatype, logits.shape], ['logits', 'FP32', [2, 1000]]);
    assert.deepEqual([probabilities.name, probabilities.shape], ['probabilities', [2, 1000]]);
    for (let row = 0; row < 2; row++) {
      const values: number[] = probabilities.data.slice(row * 1000, (row + 1) * 1000);
      assert.equal(values.indexOf(Math.max(...values)), trueIndex(FILES[row]));
      assert.ok(Math.abs(values.reduce((a, b) => a + b) - 1) < 1e-4);
    }
  });

  it('classifies base64 BYTES images with the classification extension', async () => {
    const { status, json } = await post(infer, JSON.stringify({
      inputs: [{ name: 'image', shape: [2], datatype: 'BYTES', data: FILES.slice(0, 2).map((f) => bytes(f).toString('base64')) }],
      outputs: [{ name: 'probabilities', parameters: { classification: 3 } }],
    }), { 'content-type': 'application/json' });
    assert.equal(status, 200, JSON.stringify(json));
    const [out] = json.outputs;
    assert.deepEqual([out.name, out.datatype, out.shape], ['probabilities', 'BYTES', [2, 3]]);
    for (let row = 0; row < 2; row++) {
      const [score, index, label] = out.data[row * 3].split(':');
      assert.equal(Number(index), trueIndex(FILES[row]));
      assert.equal(label, labelOf(Number(index)));
      assert.ok(Number(score) > 0 && Number(score) <= 1);
    }
  });

  it("speaks the binary-data extension as tritonclient sends it (no Content-Type, Inference-Header-Content-Length)", async () => {
    // BYTES input: each element a 4-byte little-endian length and the file's bytes.
    const elements = FILES.slice(0, 2).map((f) => bytes(f));
    const binary = Buffer.concat(elements.flatMap((e) => [u32(e.length), e]));
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'image', shape: [2, 1], datatype: 'BYTES', parameters: { binary_data_size: binary.length } }],
      outputs: [
        { name: 'logits', parameters: { binary_data: true } },
        { name: 'probabilities', parameters: { classification: 1, binary_data: true } },
      ],
    }));
    const response = await fetch(url(infer), {
      method: 'POST',
      body: Buffer.concat([header, binary]),
      headers: { 'Inference-Header-Content-Length': String(header.length) },
    });
    assert.equal(response.status, 200);
    const body = Buffer.from(await response.arrayBuffer());
    const jsonLength = Number(response.headers.get('inference-header-content-length'));
    const json = JSON.parse(body.subarray(0, jsonLength).toString());
    const [logits, classes] = json.outputs;
    assert.deepEqual(logits.parameters, { binary_data_size: 2 * 1000 * 4 });
    assert.equal(logits.data, undefined);
    let offset = jsonLength;
    const floats = new Float32Array(body.buffer.slice(body.byteOffset + offset, body.byteOffset + offset + 8000));
    offset += 8000;
    for (let row = 0; row < 2; row++) {
      const values = Array.from(floats.subarray(row * 1000, (row + 1) * 1000));
      assert.equal(values.indexOf(Math.max(...values)), trueIndex(FILES[row]));
    }
    assert.deepEqual(classes.shape, [2, 1]);
    const strings: string[] = [];
    for (let at = offset; at < offset + classes.parameters.binary_data_size; ) {
      const n = body.readUInt32LE(at);
      strings.push(body.subarray(at + 4, at + 4 + n).toString());
      at += 4 + n;
    }
    assert.deepEqual(strings.map((s) => Number(s.split(':')[1])), FILES.slice(0, 2).map(trueIndex));
  });

  it('takes a binary FP32 tensor and answers as the v1 route does', async () => {
    const tensor = await loadTensor(bytes(PHOTO), { decoder: 'sharp' });
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: tensor.byteLength } }],
      outputs: [{ name: 'probabilities', parameters: { classification: 5 } }],
    }));
    const { status, json } = await post(infer, Buffer.concat([header, Buffer.from(tensor.buffer)]), {
      'Inference-Header-Content-Length': String(header.length),
      'content-type': 'application/octet-stream',
    });
    assert.equal(status, 200, JSON.stringify(json));
    const v1 = (await predictJpeg(PHOTO)).json.results[0].predictions;
    assert.deepEqual(json.outputs[0].data.map((s: string) => Number(s.split(':')[1])), v1.map((p: { index: number }) => p.index));
  });

  it('refuses malformed inference requests with 400 and a JSON reason', async () => {
    const framed = (header: object, binaryBytes: number) => {
      const json = Buffer.from(JSON.stringify(header));
      return post(infer, Buffer.concat([json, Buffer.alloc(binaryBytes)]), { 'Inference-Header-Content-Length': String(json.length) });
    };
    const send = (body: object) => post(infer, JSON.stringify(body), { 'content-type': 'application/json' });
    const fp32 = (shape: number[], data: unknown[]) => ({ inputs: [{ name: 'input', shape, datatype: 'FP32', data }] });
    const cases: [string, Promise<{ status: number; json: { error: string } }>, RegExp][] = [
      ['no inputs', send({ inputs: [] }), /exactly one input/],
      ['no inputs field', send({}), /inputs/],
      ['wrong shape', send(fp32([1, 3, 32, 32], new Array(3 * 32 * 32).fill(0))), /expected \[N, 3, 224, 224\]/],
      ['too few values', send(fp32([1, 3, 224, 224], [1, 2, 3])), /3 values/],
      ['INT32', send({ inputs: [{ name: 'input', shape: [1], datatype: 'INT32', data: [1] }] }), /input 'input' has datatype INT32; expected FP32/],
      ['unknown input name', send({ inputs: [{ name: 'INPUT__0', shape: [1], datatype: 'BYTES', data: [bytes(PHOTO).toString('base64')] }] }),
        /unknown input 'INPUT__0'; this model takes 'input' \(FP32\) or 'image' \(BYTES\)/],
      ['BYTES not an image', send({ inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: ['aGVsbG8='] }] }), /not an image/],
      ['BYTES count', send({ inputs: [{ name: 'image', shape: [2], datatype: 'BYTES', data: ['aGVsbG8='] }] }), /holds 1 images/],
      ['unknown output', send({ ...fp32([1, 3, 224, 224], new Array(150528).fill(0)), outputs: [{ name: 'scores' }] }), /unknown output 'scores'/],
      ['bad JSON', post(infer, '{"inputs": [', {}), /not valid JSON/],
      ['bad JSON, no Content-Type', post(infer, Buffer.from('{"inputs": [')), /not valid JSON/],
      ['no body, no Content-Type', post(infer, new Uint8Array(0)), /body must be object/],
      ['a null input, no Content-Type', post(infer, Buffer.from('{"inputs": [null]}')), /inputs\/0 must be object/],
      ['an output not an object, binary framing', framed({ inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 4 } }], outputs: [7] }, 4),
        /outputs\/0 must be object/],
      ['header length past the end', post(infer, '{}', { 'Inference-Header-Content-Length': '99' }), /99/],
      ['binary size overrun', framed({ inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 50 } }] }, 10), /overruns/],
      ['binary data left over', framed({ inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 4 } }] }, 10), /6 bytes of binary data belong to no input/],
    ];
    for (const [name, request, reason] of cases) {
      const { status, json } = await request;
      assert.equal(status, 400, `${name}: ${JSON.stringify(json)}`);
      assert.match(json.error, reason, name);
    }
  });
});

describe('operations endpoints', () => {
  it('exposes Prometheus metrics', async () => {
    const response = await fetch(url('/metrics'));
    assert.equal(response.status, 200);
    const text = await response.text();
    for (const name of ['http_requests_total', 'http_request_duration_seconds', 'inference_queue_depth', 'inference_batch_size',
      'inference_duration_seconds', 'image_decode_duration_seconds', 'model_info']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    // A 415 is refused before any model is chosen; a 200 counts for its model.
    assert.match(text, /http_requests_total\{route="\/v1\/predict",method="POST",status="415",model=""\} \d+/);
    assert.match(text, /http_requests_total\{route="\/v1\/predict",method="POST",status="200",model="mobilenet_v2"\} \d+/);
    assert.match(text, /inference_duration_seconds_count\{model="mobilenet_v2"\} \d+/);
    assert.match(text, /model_info\{name="mobilenet_v2",version="1",backend="torchscript",decoder="sharp"/);
  });

  it('serves the OpenAPI document and its UI', async () => {
    const spec = await (await fetch(url('/openapi.json'))).json();
    assert.match(spec.openapi, /^3\./);
    for (const path of ['/v1/predict', '/v2/models/{model}/infer', '/v2/health/ready']) assert.ok(spec.paths[path], path);
    const docs = await fetch(url('/docs'));
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  it('serves a self-contained web page', async () => {
    const response = await fetch(url('/'));
    assert.match(response.headers.get('content-type')!, /text\/html/);
    const html = await response.text();
    assert.match(html, /<input id="file" type="file"/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external resources');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await fetch(url('/v3/nothing'));
    assert.equal(response.status, 404);
    assert.match((await response.json()).error, /no route GET \/v3\/nothing/);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
