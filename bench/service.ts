/*
 * Load test of `pytorch-infer serve` with autocannon on loopback: img/s and p50/p99 latency of
 * POST /v1/predict at several concurrencies, batching on and off, for each decoder; beside it
 * the in-process pipeline (Classifier.classifyBatch) in the same run. Writes
 * bench/results/service.md (table), service.json (raw) and service.svg (latency vs throughput).
 *   npm run build && node --import tsx bench/service.ts [secondsPerPoint]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { Classifier } from '../src/classifier.js';
import type { DecoderName } from '../src/image/types.js';
import { lineChart, PALETTE } from '../src/bench/svg.js';
import { packagePath } from '../src/paths.js';
import { photos } from '../test/helpers.js';

const SECONDS = Number(process.argv[2] ?? 5);
const CONCURRENCY = [1, 4, 16, 64];
const DECODERS: DecoderName[] = ['sharp', 'jimp'];
const MAX_BATCH = 4;
const BATCHING = [
  { name: 'on', flags: ['--max-batch', String(MAX_BATCH)] },
  { name: 'off', flags: ['--max-batch', '1'] },
];
const PHOTOS = photos().slice(0, 16).map((file) => readFileSync(file));
const RESULTS = packagePath('bench', 'results');

interface Point {
  decoder: DecoderName;
  batching: string;
  concurrency: number;
  imgPerSec: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Images per second of the library used directly: decode in-process, forward in batches of MAX_BATCH. */
async function inProcess(decoder: DecoderName): Promise<number> {
  const classifier = await Classifier.create({ decoder });
  try {
    const batch = (i: number) => Array.from({ length: MAX_BATCH }, (_, k) => PHOTOS[(i + k) % PHOTOS.length]);
    await classifier.classifyBatch(batch(0));
    let images = 0;
    const start = performance.now();
    for (let i = 0; performance.now() - start < SECONDS * 1000; i += MAX_BATCH) {
      await classifier.classifyBatch(batch(i));
      images += MAX_BATCH;
    }
    return images / ((performance.now() - start) / 1000);
  } finally {
    await classifier.close();
  }
}

async function startServer(decoder: DecoderName, flags: string[]): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [packagePath('dist', 'cli.js'), 'serve', '--port', '0', '--log-level', 'warn', '--decoder', decoder, ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Keep reading stdout to the end: a closed pipe would fail the server's shutdown message.
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  while (!/listening on \S+/.test(out)) {
    if (child.exitCode !== null) throw new Error(`serve exited before listening: ${out}`);
    await sleep(50);
  }
  return { child, base: out.match(/listening on (\S+)/)![1] };
}

function load(base: string, connections: number, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${base}/v1/predict?top=5`,
    connections,
    duration,
    // Each connection cycles through the photos.
    requests: PHOTOS.map((body) => ({ method: 'POST', body, headers: { 'content-type': 'image/jpeg' } })),
  });
}

const points: Point[] = [];
const pipeline: Record<string, number> = {};
for (const decoder of DECODERS) {
  pipeline[decoder] = await inProcess(decoder);
  console.log(`in-process ${decoder}: ${pipeline[decoder].toFixed(1)} img/s`);
  for (const batching of BATCHING) {
    const { child, base } = await startServer(decoder, batching.flags);
    try {
      await load(base, 4, 1); // warm-up: connections, JIT, the allocator
      for (const concurrency of CONCURRENCY) {
        const r = await load(base, concurrency, SECONDS);
        const point = {
          decoder, batching: batching.name, concurrency,
          imgPerSec: r['2xx'] / r.duration,
          p50: r.latency.p50, p99: r.latency.p99,
          errors: r.non2xx + r.errors + r.timeouts,
        };
        points.push(point);
        console.log(JSON.stringify(point));
      }
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

writeFileSync(`${RESULTS}/service.json`, `${JSON.stringify({ seconds: SECONDS, maxBatch: MAX_BATCH, pipeline, points }, null, 2)}\n`);
writeFileSync(`${RESULTS}/service.md`, table());
writeFileSync(`${RESULTS}/service.svg`, plot());
console.log(table());

function table(): string {
  const lines = [
    `# Service load test (bench/service.ts)`,
    '',
    `POST /v1/predict, ${PHOTOS.length} ImageNet photos (~500×375 JPEG) cycled per connection, ${SECONDS} s per row, loopback,`,
    `${process.platform} ${process.arch}, ${availableParallelism()} CPUs, Node ${process.version}. Batching on = --max-batch ${MAX_BATCH} --max-delay-ms 5; off = --max-batch 1.`,
    `In-process = Classifier.classifyBatch of ${MAX_BATCH} photos in a loop (decode on the main thread, then one forward).`,
    '',
    '| decoder | batching | concurrency | img/s | % of in-process | p50 ms | p99 ms | p99/p50 | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...points.map((p) =>
      `| ${p.decoder} | ${p.batching} | ${p.concurrency} | ${p.imgPerSec.toFixed(1)} | ${((100 * p.imgPerSec) / pipeline[p.decoder]).toFixed(0)} % | ${p.p50} | ${p.p99} | ${(p.p99 / p.p50).toFixed(2)} | ${p.errors} |`),
    '',
    '| decoder | in-process img/s |',
    '|---|---:|',
    ...DECODERS.map((d) => `| ${d} | ${pipeline[d].toFixed(1)} |`),
    '',
  ];
  return lines.join('\n');
}

/** Latency (p50 solid, p99 dashed) against throughput, one colour per decoder × batching. */
function plot(): string {
  const colors: Record<string, string> = { 'sharp on': PALETTE[0], 'sharp off': '#9ecae1', 'jimp on': PALETTE[1], 'jimp off': '#ff9896' };
  const keys = Object.keys(colors).filter((k) => points.some((p) => `${p.decoder} ${p.batching}` === k));
  return lineChart({
    title: 'Latency vs throughput, POST /v1/predict (labels: concurrency)',
    xLabel: 'images / s',
    yLabel: 'latency (ms)',
    series: keys.flatMap((key) =>
      (['p50', 'p99'] as const).map((stat) => ({
        name: `${key.replace(' on', ', batching').replace(' off', ', no batching')} ${stat}`,
        color: colors[key],
        dashed: stat === 'p99',
        points: points
          .filter((p) => `${p.decoder} ${p.batching}` === key)
          .map((p) => ({ x: p.imgPerSec, y: p[stat], label: stat === 'p50' ? String(p.concurrency) : undefined })),
      }))),
    markers: Object.entries(pipeline).map(([decoder, rate]) => ({ x: rate, color: colors[`${decoder} on`] })),
    notes: ['dotted: in-process img/s'],
  });
}
