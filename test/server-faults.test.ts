// Clients that misbehave, against `serve` as a real process: disconnects mid-upload and
// mid-inference release their queue slots and memory; headers or a body trickled in get 408
// within the configured timeouts; 2 000 idle keep-alive connections leave the service
// answering; SIGTERM under a steady load answers every request the server had read, and exits 0.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { idleReclaimed } from '../bench/fuzz/run.js';
import { treeCpuMs } from '../src/bench/tree-cpu.js';
import { photos, SAMPLES_DIR, startServe, trueIndex } from './helpers.js';

// The samples, whose top-1 is their true class, twice: MAX_QUEUE photos.
const FILES = [...photos(SAMPLES_DIR), ...photos(SAMPLES_DIR)];
const PHOTOS = FILES.map((file) => readFileSync(file));
const MAX_QUEUE = 8;
const HEADERS_TIMEOUT_MS = 1000;
const TIMEOUT_MS = 4000;
/** Node looks for timed-out requests once a second (src/server/app.ts), and the machine is shared. */
const TIMEOUT_SLACK_MS = 2500;

function rssMb(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)![1]) / 1024;
}

describe('serve with misbehaving clients', () => {
  let serve: Awaited<ReturnType<typeof startServe>>;
  let host: string;
  let port: number;
  before(async () => {
    serve = await startServe([
      'serve', '--port', '0', '--log-level', 'warn', '--decoder', 'sharp', '--max-queue', String(MAX_QUEUE), '--max-batch', '4',
      '--headers-timeout-ms', String(HEADERS_TIMEOUT_MS), '--timeout-ms', String(TIMEOUT_MS), '--keep-alive-timeout-ms', '120000',
    ]);
    ({ hostname: host } = new URL(serve.base));
    port = Number(new URL(serve.base).port);
  });
  after(async () => assert.equal(await serve?.stop(), 0));

  async function open(): Promise<Socket> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    socket.on('error', () => {}); // a reset after we destroy it is expected
    return socket;
  }

  const predictHead = (length: number) =>
    `POST /v1/predict?top=1 HTTP/1.1\r\nHost: ${host}\r\nContent-Type: image/jpeg\r\nContent-Length: ${length}\r\n\r\n`;

  /** MAX_QUEUE photos at once, each answered 200 with its class: no slot of the queue is held by an abandoned request. */
  async function fullQueueAnswers(): Promise<void> {
    const answers = await Promise.all(PHOTOS.map(async (body, i) => {
      const response = await fetch(`${serve.base}/v1/predict?top=1`, { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } });
      return { status: response.status, json: (await response.json()) as { results: { predictions: { index: number }[] }[] }, file: FILES[i] };
    }));
    for (const { status, json, file } of answers) {
      assert.equal(status, 200, `${file}: ${JSON.stringify(json)}`);
      assert.equal(json.results[0].predictions[0].index, trueIndex(file));
    }
  }

  async function queueDepth(): Promise<number> {
    const text = await (await fetch(`${serve.base}/metrics`)).text();
    const series = [...text.matchAll(/^inference_queue_depth(?:\{[^}]*\})? (\S+)$/gm)];
    assert.ok(series.length > 0, 'the queue depth gauge is in /metrics');
    return series.reduce((sum, m) => sum + Number(m[1]), 0);
  }

  /**
   * Waits (at most 20 s) until the server has nothing left waiting for a forward and uses under
   * 5 % of a core: the photos of clients gone still run (a forward cannot be recalled) and hold
   * their queue slots until then.
   */
  async function settled(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const cpu = treeCpuMs(serve.pid);
      await sleep(200);
      if (treeCpuMs(serve.pid) - cpu < 10 && (await queueDepth()) === 0) return;
    }
    assert.fail('the server is still busy 20 s after its clients left');
  }

  /** One round of clients that give up: half a body, or a whole photo and gone before the answer. */
  async function abandonRound(): Promise<void> {
    const upload = Buffer.alloc(4 << 20, 0xff);
    const midUpload = Array.from({ length: 40 }, async () => {
      const socket = await open();
      socket.write(predictHead(upload.length));
      socket.write(upload.subarray(0, 1 << 20));
      await sleep(20);
      socket.destroy();
    });
    // MAX_QUEUE photos at a time, gone after 0–60 ms: while decoding, waiting for a batch or in the forward.
    const midInference = Array.from({ length: 6 }, async (_, wave) => {
      await sleep(wave * 80);
      await Promise.all(PHOTOS.map(async (photo, i) => {
        const socket = await open();
        socket.write(predictHead(photo.length));
        socket.write(photo);
        await sleep((i * 7 + wave * 13) % 60);
        socket.destroy();
      }));
    });
    await Promise.all([...midUpload, ...midInference]);
  }

  it('releases queue slots and memory of clients gone mid-upload or mid-inference', async (t) => {
    // The first rounds grow the allocators to this load's size. Read after the idle reclaim, RSS
    // after ten rounds is within -46..+8 MB of the fourth's (3 runs).
    for (let round = 0; round < 4; round++) await abandonRound();
    await settled();
    await fullQueueAnswers();
    // Read once the idle server has collected and trimmed: what it holds, not garbage not yet collected.
    await idleReclaimed();
    const rssWarm = rssMb(serve.pid);
    for (let round = 0; round < 6; round++) await abandonRound();
    await settled();
    await fullQueueAnswers();
    await idleReclaimed();
    const growth = rssMb(serve.pid) - rssWarm;
    t.diagnostic(`RSS ${rssWarm.toFixed(0)} MB after four rounds, ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB after six more`);
    // Six rounds abandon 240 MB of bodies and 288 photos (each 0.6 MB as a tensor): a leak of either would show.
    assert.ok(growth < 80, `RSS grew ${growth.toFixed(0)} MB over six rounds of abandoned requests`);
  });

  /** Sends `first`, then a byte of `trickle` every 200 ms until the server answers; the answer and how long it took. */
  async function trickled(first: string, trickle: string): Promise<{ answer: string; ms: number }> {
    const socket = await open();
    const started = performance.now();
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
    socket.write(first);
    let sent = 0;
    const timer = trickle && setInterval(() => socket.writable && socket.write(trickle[sent++ % trickle.length]), 200);
    // The server closes while bytes still come in, so the end may be a reset after its answer:
    // wait for the close, not once(), which would reject on that error and leave the timer running.
    await new Promise((resolve) => socket.once('close', resolve));
    if (timer) clearInterval(timer);
    return { answer, ms: performance.now() - started };
  }

  it('answers 408 to headers or a body trickled in, within the configured timeouts, serving others meanwhile', async () => {
    await settled();
    const [headers, nothing, body] = await Promise.all([
      trickled(`POST /v1/predict?top=1 HTTP/1.1\r\nHost: ${host}\r\n`, 'X-Slow: still-coming-'),
      trickled('', ''),
      trickled(predictHead(200_000), 'x'),
      (async () => {
        await sleep(300);
        await fullQueueAnswers();
      })(),
    ]);
    for (const [name, { answer, ms }, limit] of [
      ['headers trickled', headers, HEADERS_TIMEOUT_MS],
      ['a connection that sends nothing', nothing, HEADERS_TIMEOUT_MS],
      ['a body trickled', body, TIMEOUT_MS],
    ] as const) {
      assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/, name);
      assert.match(answer, /\r\n\r\n\{"error":"Request Timeout".*\}$/, `${name}: a JSON body`);
      assert.ok(ms >= limit - 100 && ms < limit + TIMEOUT_SLACK_MS, `${name}: 408 after ${ms.toFixed(0)} ms, the timeout is ${limit} ms`);
    }
  });

  it('keeps answering with 2 000 idle keep-alive connections open', async () => {
    const idle: Socket[] = [];
    try {
      for (let batch = 0; batch < 20; batch++) {
        idle.push(...(await Promise.all(Array.from({ length: 100 }, async () => {
          const socket = await open();
          const answered = once(socket, 'data');
          socket.write(`GET /v2/health/live HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
          assert.match(String((await answered)[0]), /^HTTP\/1\.1 200 /);
          return socket;
        }))));
      }
      await fullQueueAnswers();
      await fullQueueAnswers();
      assert.equal(idle.filter((s) => s.destroyed || s.readyState !== 'open').length, 0, 'the idle connections stay open within the keep-alive timeout');
      // A kept-alive connection takes a new request after its idle time.
      const socket = idle[idle.length - 1];
      const answered = once(socket, 'data');
      socket.write(`GET /v2/health/ready HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.match(String((await answered)[0]), /^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });
});

describe('serve under load, SIGTERM', () => {
  it('answers every request it had read, refuses later ones with 503, outwaits no trickling client, and exits 0', async (t) => {
    const timeoutMs = 8000;
    const serve = await startServe(['serve', '--port', '0', '--log-level', 'warn', '--decoder', 'sharp', '--max-queue', '64', '--timeout-ms', String(timeoutMs)]);
    type Outcome = { sentAt: number; status?: number; retryAfter?: string | null; error?: string; file: string; index?: number; answer?: string };
    const outcomes: Outcome[] = [];
    // 16 connections, each sending its next photo as soon as the last is answered, until one fails.
    const loops = Array.from({ length: 16 }, async (_, c) => {
      for (let n = 0; ; n++) {
        const i = (c + n) % FILES.length;
        const outcome: Outcome = { sentAt: performance.now(), file: FILES[i] };
        outcomes.push(outcome);
        try {
          const response = await fetch(`${serve.base}/v1/predict?top=1`, { method: 'POST', body: PHOTOS[i], headers: { 'content-type': 'image/jpeg' } });
          outcome.status = response.status;
          outcome.retryAfter = response.headers.get('retry-after');
          const json = (await response.json()) as { results?: { predictions: { index: number }[] }[] };
          outcome.index = json.results?.[0].predictions[0].index;
          outcome.answer = JSON.stringify(json); // for the message of a wrong answer
          if (response.status !== 200) return;
        } catch (err) {
          outcome.error = String((err as Error).cause ?? err);
          return;
        }
      }
    });
    // And a client sending its body a byte every 200 ms: the shutdown must not wait for it.
    const { port } = new URL(serve.base);
    const slow = connect(Number(port), '127.0.0.1');
    slow.on('error', () => {});
    await once(slow, 'connect');
    slow.write(`POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n`);
    const trickle = setInterval(() => slow.writable && slow.write('x'), 200);
    try {
      await sleep(3000);
      const sigtermAt = performance.now();
      const code = await serve.stop();
      const stopMs = performance.now() - sigtermAt;
      await Promise.all(loops);
      assert.equal(code, 0);
      assert.ok(stopMs < timeoutMs + TIMEOUT_SLACK_MS, `stopped ${stopMs.toFixed(0)} ms after SIGTERM, the request timeout is ${timeoutMs} ms`);
      const sentBefore = outcomes.filter((o) => o.sentAt < sigtermAt - 500);
      assert.ok(sentBefore.length > 32, `a load, not a trickle: ${sentBefore.length} requests before SIGTERM`);
      for (const o of sentBefore) {
        assert.equal(o.status, 200, `sent ${(sigtermAt - o.sentAt).toFixed(0)} ms before SIGTERM: ${o.error ?? o.status}`);
        assert.equal(o.index, trueIndex(o.file), `${o.file} sent ${(sigtermAt - o.sentAt).toFixed(0)} ms before SIGTERM: ${o.answer}`);
      }
      // Sent about when SIGTERM came: answered, refused with Retry-After, or never read (the
      // connection closed as it went out, or nothing listened any more).
      const late = outcomes.filter((o) => o.sentAt >= sigtermAt - 500);
      for (const o of late) {
        if (o.status === 200) assert.equal(o.index, trueIndex(o.file));
        else if (o.status === 503) assert.equal(o.retryAfter, '1');
        else assert.ok(o.error !== undefined && o.status === undefined, `status ${o.status}`);
      }
      const count = (f: (o: Outcome) => boolean) => late.filter(f).length;
      t.diagnostic(`${sentBefore.length} requests before SIGTERM, all 200; about and after it: ${count((o) => o.status === 200)} 200, ` +
        `${count((o) => o.status === 503)} 503, ${count((o) => o.error !== undefined)} not read; stopped in ${stopMs.toFixed(0)} ms`);
    } finally {
      clearInterval(trickle);
      slow.destroy();
    }
  });
});
