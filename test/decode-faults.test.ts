// Faults in decoding, through the real service (node dist/cli.js serve): a decode past its
// deadline, a decode worker dying of its own cause, a decoder worker killed by a bomb's memory, a photo that claims a small size and
// decodes a huge one, a 40 MP photo on its own, and one slow request beside a quick one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { freePort, SAMPLES_DIR, startServe } from './helpers.js';

const SMALL = readFileSync(`${SAMPLES_DIR}/n01530575_brambling.JPEG`);
const LARGE = readFileSync(new URL('./fixtures/large/n01440764_tench_4032x3024.jpg', import.meta.url));

interface Reply {
  status: number;
  json: { error?: string; code?: string; results?: unknown[] };
}

async function post(base: string, body: Uint8Array, type = 'application/octet-stream'): Promise<Reply> {
  const response = await fetch(`${base}/v1/predict`, { method: 'POST', headers: { 'content-type': type }, body: Buffer.from(body) });
  return { status: response.status, json: await response.json() };
}

async function postFiles(base: string, files: Uint8Array[]): Promise<Reply> {
  const form = new FormData();
  files.forEach((f, i) => form.append('file', new Blob([Buffer.from(f)]), `${i}.jpg`));
  const response = await fetch(`${base}/v1/predict`, { method: 'POST', body: form });
  return { status: response.status, json: await response.json() };
}

async function serve(...args: string[]) {
  return startServe(['serve', '--port', String(await freePort()), '--log-level', 'warn', ...args]);
}

/** A process's peak RSS so far, from /proc. */
function peakRss(pid: number): number {
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

const okAll = async (base: string, n: number) => {
  const replies = await Promise.all(Array.from({ length: n }, () => post(base, SMALL, 'image/jpeg')));
  assert.deepEqual(replies.map((r) => r.status), replies.map(() => 200), JSON.stringify(replies.find((r) => r.status !== 200)));
};

/**
 * A little-endian TIFF of 1×1 pixel with one more tag claiming 2^31 RATIONAL values: the header
 * check reads only the tags it needs and passes it; utif2 (jimp) builds an array entry for each
 * value, far past the 200 bytes there are.
 */
function tiffTagBomb(): Buffer {
  const entries = [[256, 3, 1, 1], [257, 3, 1, 1], [258, 3, 1, 8], [259, 3, 1, 1], [262, 3, 1, 1], [273, 4, 1, 0], [277, 3, 1, 1], [279, 4, 1, 1], [33432, 5, 0x7fffffff, 8]];
  const pixel = 8 + 2 + entries.length * 12 + 4;
  const b = Buffer.alloc(pixel + 1);
  b.write('II', 0);
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const e = 10 + i * 12;
    b.writeUInt16LE(tag, e);
    b.writeUInt16LE(type, e + 2);
    b.writeUInt32LE(count, e + 4);
    if (type === 3) b.writeUInt16LE(value, e + 8);
    else b.writeUInt32LE(tag === 273 ? pixel : value, e + 8);
  });
  b[pixel] = 128;
  return b;
}

/** A GIF whose 16×16 screen holds one frame that claims 20000×20000 pixels. */
function gifFrameBomb(): Buffer {
  const screen = [...Buffer.from('GIF89a'), 16, 0, 16, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255];
  const frame = [0x2c, 0, 0, 0, 0, 0x20, 0x4e, 0x20, 0x4e, 0, 2, 2, 0x4c, 0x01, 0, 0x3b];
  return Buffer.from([...screen, ...frame]);
}

describe('a runaway decode (jimp, 2 workers, 800 ms deadline)', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  let sixteenMp: Buffer;

  before(async () => {
    // 16 MP, jimp's limit: ~1 s of jimp on an idle core, so past the deadline here.
    sixteenMp = await sharp(LARGE).resize(4600, 3450).jpeg({ quality: 90 }).toBuffer();
    server = await serve('--decoder', 'jimp', '--decode-workers', '2', '--decode-timeout-ms', '800');
  });
  after(() => server?.stop());

  it('is stopped by ending its worker: a JSON 422 for that photo, the photos beside it answered, the next ones decoded', async () => {
    const slow = post(server.base, sixteenMp, 'image/jpeg');
    await okAll(server.base, 6); // on the other worker, while the slow one runs
    const { status, json } = await slow;
    assert.equal(status, 422);
    assert.equal(json.code, 'DECODE_TOO_COSTLY');
    assert.match(json.error!, /longer than 800 ms .*--decode-timeout-ms/);
    await okAll(server.base, 4); // both workers, the new one included
  });
});

/**
 * The service's decode workers as the Node inspector sees them (NODE_OPTIONS=--inspect): `kill`
 * runs process.exit in one, a worker thread dying of a cause of its own, as a bug would make it.
 */
async function inspectWorkers(inspectorPort: number) {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ((socket.onopen = resolve), (socket.onerror = reject)));
  const workers = new Set<string>();
  socket.onmessage = (event) => {
    const { method, params } = JSON.parse(String(event.data)) as { method?: string; params?: { sessionId: string; workerInfo?: { url: string } } };
    if (method === 'NodeWorker.attachedToWorker' && params!.workerInfo!.url.includes('decode-worker')) workers.add(params!.sessionId);
    if (method === 'NodeWorker.detachedFromWorker') workers.delete(params!.sessionId);
  };
  let id = 0;
  const send = (method: string, params: object) => socket.send(JSON.stringify({ id: ++id, method, params }));
  send('NodeWorker.enable', { waitForDebuggerOnStart: false });
  return {
    count: () => workers.size,
    kill(code: number) {
      const [sessionId] = workers;
      const message = JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: `process.exit(${code})` } });
      send('NodeWorker.sendMessageToWorker', { sessionId, message });
    },
    close: () => socket.close(),
  };
}

describe('a decode worker that dies mid-request (jimp, 1 worker)', () => {
  it('fails its request with a JSON 503 and Retry-After, and a new worker decodes the photo queued behind it and the next ones', async () => {
    const inspectorPort = await freePort();
    const server = await startServe(['serve', '--port', String(await freePort()), '--log-level', 'warn', '--decoder', 'jimp', '--decode-workers', '1'], {
      NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}`,
    });
    const workers = await inspectWorkers(inspectorPort);
    try {
      while (workers.count() === 0) await sleep(50);
      const large = fetch(`${server.base}/v1/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: LARGE }); // ~1 s of jimp
      await sleep(300);
      const queued = post(server.base, SMALL, 'image/jpeg');
      workers.kill(9);
      const dead = await large;
      assert.equal(dead.status, 503);
      assert.ok(Number(dead.headers.get('retry-after')) >= 1);
      assert.match(((await dead.json()) as { error: string }).error, /decode worker stopped \(exit code 9\).*retry/);
      assert.equal((await queued).status, 200);
      await okAll(server.base, 4);
    } finally {
      workers.close();
      await server.stop();
    }
  });
});

describe('bombs that pass the header check (jimp)', () => {
  let server: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    server = await serve('--decoder', 'jimp', '--decode-workers', '2');
  });
  after(() => server?.stop());

  it('a TIFF whose tag would fill the heap kills only its worker, whose heap is limited: 422, the process within bounds, the next photos decoded', async () => {
    const peakBefore = peakRss(server.pid);
    const { status, json } = await post(server.base, tiffTagBomb(), 'image/tiff');
    const growth = peakRss(server.pid) - peakBefore;
    assert.ok(growth < 768 * 2 ** 20, `the peak RSS grew by ${growth >> 20} MB`);
    assert.equal(status, 422, JSON.stringify(json));
    assert.equal(json.code, 'DECODE_TOO_COSTLY');
    assert.match(json.error!, /heap limit|longer than/);
    await okAll(server.base, 4);
  });

  it('a BMP colour count of 2^32 (a bit flip that aborted the whole process through bmp-ts): ignored above 8 bits a pixel, as PIL does; refused at 8', async () => {
    const bmp = readFileSync(new URL('./fixtures/reference/formats/rgb24.bmp', import.meta.url));
    const rgb = Buffer.from(bmp);
    rgb.writeUInt32LE(0xffffffff, 46);
    assert.equal((await post(server.base, rgb, 'image/bmp')).status, 200);
    const paletted = Buffer.from(rgb);
    paletted.writeUInt16LE(8, 28);
    const { status, json } = await post(server.base, paletted, 'image/bmp');
    assert.deepEqual([status, json.code], [400, 'CORRUPT_IMAGE']);
    assert.match(json.error!, /palette claims 4294967295 colours/);
    await okAll(server.base, 2);
  });

  it('a GIF frame larger than its screen counts at its size: refused from the header, in no time', async () => {
    const started = performance.now();
    const { status, json } = await post(server.base, gifFrameBomb(), 'image/gif');
    assert.deepEqual([status, json.code], [400, 'TOO_MANY_PIXELS']);
    assert.match(json.error!, /20000×20000 = 400 MP/);
    assert.ok(performance.now() - started < 5000, 'answered from the header');
  });
});

describe('photos at the limits (sharp)', () => {
  it('a 40 MP photo sent alone is classified; a 36 MP PNG of zeros (a 100 KB bomb) is decoded within the pixel limit; 49 MP is refused', async () => {
    const server = await serve('--decoder', 'sharp', '--decode-workers', '1');
    try {
      const fortyMp = await sharp(LARGE).resize(7300, 5475).jpeg({ quality: 85 }).toBuffer();
      const big = await post(server.base, fortyMp, 'image/jpeg');
      assert.equal(big.status, 200, JSON.stringify(big.json));
      const zeros = (side: number) => sharp({ create: { width: side, height: side, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png({ compressionLevel: 9 }).toBuffer();
      const bomb = await zeros(6000);
      assert.ok(bomb.length < 200_000, `${bomb.length} bytes`);
      assert.equal((await post(server.base, bomb, 'image/png')).status, 200);
      const tooBig = await post(server.base, await zeros(7000), 'image/png');
      assert.deepEqual([tooBig.status, tooBig.json.code], [400, 'TOO_MANY_PIXELS']);
    } finally {
      await server.stop();
    }
  });
});

describe('turns between requests (jimp, 1 worker)', () => {
  it('a photo sent behind a request of three large ones is answered before that request', async () => {
    const server = await serve('--decoder', 'jimp', '--decode-workers', '1');
    try {
      const order: string[] = [];
      const large = postFiles(server.base, [LARGE, LARGE, LARGE]).then((r) => (order.push('large'), r));
      await sleep(200);
      const small = post(server.base, SMALL, 'image/jpeg').then((r) => (order.push('small'), r));
      const [l, s] = await Promise.all([large, small]);
      assert.deepEqual([l.status, s.status], [200, 200]);
      assert.deepEqual(order, ['small', 'large']);
    } finally {
      await server.stop();
    }
  });
});
