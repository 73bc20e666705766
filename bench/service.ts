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
import autocannon from 'autocannon';
import { Classifier } from '../src/classifier.js';
import type { DecoderName } from '../src/image/types.js';
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
    await new Promise((resolve) => setTimeout(resolve, 50));
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

/** Latency (p50 solid, p99 dashed) against throughput, one line per decoder × batching. */
function plot(): string {
  const W = 720, H = 440, left = 60, right = 180, top = 30, bottom = 50;
  const maxX = Math.max(...points.map((p) => p.imgPerSec), ...Object.values(pipeline)) * 1.1;
  const maxY = Math.max(...points.map((p) => p.p99)) * 1.1;
  const x = (v: number) => left + (v / maxX) * (W - left - right);
  const y = (v: number) => H - bottom - (v / maxY) * (H - top - bottom);
  const colors: Record<string, string> = { 'sharp on': '#1f77b4', 'sharp off': '#9ecae1', 'jimp on': '#d62728', 'jimp off': '#ff9896' };
  const series = Object.keys(colors).filter((k) => points.some((p) => `${p.decoder} ${p.batching}` === k));
  const ticks = (max: number) => Array.from({ length: 6 }, (_, i) => (max / 5) * i);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14">Latency vs throughput, POST /v1/predict (labels: concurrency)</text>`,
    ...ticks(maxX).map((v) => `<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${H - bottom}" stroke="#eee"/><text x="${x(v)}" y="${H - bottom + 16}" text-anchor="middle">${v.toFixed(0)}</text>`),
    ...ticks(maxY).map((v) => `<line x1="${left}" y1="${y(v)}" x2="${W - right}" y2="${y(v)}" stroke="#eee"/><text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`),
    `<text x="${(left + W - right) / 2}" y="${H - 12}" text-anchor="middle">images / s</text>`,
    `<text transform="translate(16 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`,
  ];
  for (const [decoder, rate] of Object.entries(pipeline)) {
    const color = colors[`${decoder} on`];
    parts.push(`<line x1="${x(rate)}" y1="${top}" x2="${x(rate)}" y2="${H - bottom}" stroke="${color}" stroke-dasharray="2 4"/>`);
  }
  series.forEach((key, i) => {
    const line = points.filter((p) => `${p.decoder} ${p.batching}` === key);
    for (const [stat, dash] of [['p50', ''], ['p99', ' stroke-dasharray="6 4"']] as const) {
      const d = line.map((p, k) => `${k ? 'L' : 'M'}${x(p.imgPerSec).toFixed(1)},${y(p[stat]).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${colors[key]}" stroke-width="2"${dash}/>`);
    }
    for (const p of line) {
      parts.push(`<circle cx="${x(p.imgPerSec).toFixed(1)}" cy="${y(p.p50).toFixed(1)}" r="3" fill="${colors[key]}"/>`);
      parts.push(`<text x="${(x(p.imgPerSec) + 5).toFixed(1)}" y="${(y(p.p50) - 5).toFixed(1)}" font-size="10" fill="#555">${p.concurrency}</text>`);
    }
    const ly = top + 10 + i * 20;
    parts.push(`<line x1="${W - right + 15}" y1="${ly}" x2="${W - right + 45}" y2="${ly}" stroke="${colors[key]}" stroke-width="2"/><text x="${W - right + 52}" y="${ly + 4}">${key.replace(' on', ', batching').replace(' off', ', no batching')}</text>`);
  });
  const ly = top + 10 + series.length * 20;
  parts.push(`<text x="${W - right + 15}" y="${ly + 4}" font-size="11">solid p50, dashed p99</text>`);
  parts.push(`<text x="${W - right + 15}" y="${ly + 20}" font-size="11">dotted: in-process img/s</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
