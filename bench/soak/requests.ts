// The soak's request mix, written as files wrk sends: real photos (200), broken photos (4xx with
// a JSON reason) and v2 requests (a preprocessed FP32 tensor in binary framing, a photo as BYTES
// in JSON), each checked once by hand before the load so the load's status counts mean something.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packagePath } from '../../src/paths.js';
import type { WrkRequest } from '../http/wrk.js';

const PHOTOS = packagePath('test', 'fixtures', 'imagenet-sample-100');
const GOOD = ['n01440764_tench.JPEG', 'n01530575_brambling.JPEG', 'n01641577_bullfrog.JPEG', 'n02112137_chow.JPEG', 'n03095699_container_ship.JPEG', 'n07684084_French_loaf.JPEG'];
/** The reference pipeline's tensor of this photo (test/fixtures/reference/tensors). */
const TENSOR_OF = 'n01530575_brambling';

export interface MixRequest extends WrkRequest {
  readonly kind: 'good photo' | 'bad photo' | 'v2 tensor' | 'v2 bytes';
  /** The status class it must get: 2 for 2xx, 4 for 4xx. */
  readonly expect: 2 | 4;
}

/** Writes the mix's bodies under `dir`; `model` is the v2 model name. */
export function writeMix(dir: string, model: string): MixRequest[] {
  mkdirSync(dir, { recursive: true });
  const file = (name: string, body: Buffer | string) => {
    writeFileSync(join(dir, name), body);
    return join(dir, name);
  };
  const photo = (name: string) => readFileSync(join(PHOTOS, name));
  const infer = `/v2/models/${model}/infer`;
  const tensor = readFileSync(packagePath('test', 'fixtures', 'reference', 'tensors', `${TENSOR_OF}.f32`));
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: tensor.length } }],
    outputs: [{ name: 'probabilities', parameters: { classification: 5 } }],
  }));
  const bytesJson = JSON.stringify({
    inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [photo(GOOD[3]).toString('base64')] }],
    outputs: [{ name: 'probabilities', parameters: { classification: 5 } }],
  });
  const jpeg = photo(GOOD[0]);
  return [
    ...GOOD.map((name) => ({ kind: 'good photo', expect: 2, file: join(PHOTOS, name) }) as const),
    // The first third of a JPEG: its header promises scans that never come.
    { kind: 'bad photo', expect: 4, file: file('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 3))) },
    // A JPEG's first bytes and then noise: the markers claim a photo the data does not hold.
    { kind: 'bad photo', expect: 4, file: file('garbled.jpg', Buffer.concat([jpeg.subarray(0, 600), Buffer.alloc(20_000, 0x5a)])) },
    { kind: 'bad photo', expect: 4, file: file('text.jpg', 'this is not a photo\n'.repeat(100)) },
    {
      kind: 'v2 tensor', expect: 2, file: file('v2-tensor.bin', Buffer.concat([header, tensor])), path: infer,
      headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
    },
    { kind: 'v2 bytes', expect: 2, file: file('v2-bytes.json', bytesJson), path: infer, headers: { 'Content-Type': 'application/json' } },
  ];
}

/** Sends each request once and throws unless it gets its status class and, for a 4xx, a JSON reason. */
export async function checkMix(base: string, mix: readonly MixRequest[]): Promise<void> {
  for (const request of mix) {
    const response = await fetch(`${base}${request.path ?? '/v1/predict?top=5'}`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', ...lowerCased(request.headers ?? {}) },
      body: readFileSync(request.file),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (Math.floor(response.status / 100) !== request.expect) throw new Error(`${request.kind} ${request.file}: HTTP ${response.status}, expected ${request.expect}xx: ${text}`);
    if (request.expect === 4 && typeof JSON.parse(text).error !== 'string') throw new Error(`${request.kind} ${request.file}: a 4xx without a JSON error: ${text}`);
  }
}

const lowerCased = (headers: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
