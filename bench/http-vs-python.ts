/*
 * `pytorch-infer serve` side by side with the usual Python way to serve the same model (FastAPI +
 * uvicorn, 2 workers × 1 ONNX Runtime thread, PIL + numpy: bench/python-service/), over real HTTP
 * on loopback, loaded by wrk with the same photos at several concurrencies. Per point: img/s,
 * p50/p99 latency, errors and server CPU-ms per answered photo (the server's whole process tree,
 * from /proc), each as a ratio to the Python service. The services take turns over several rounds
 * and the table holds medians: the machine is shared and noisy. Writes
 * bench/results/http-vs-python.{md,json,svg}.
 *   npm run build && node --import tsx bench/http-vs-python.ts [--seconds 10] [--warmup 3] [--rounds 3]
 *     [--config name="--flag value ..."]... [--quick]
 * --quick (1 round of 2 s points) is a smoke run: it writes to .cache/http-vs-python-quick.* instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release } from 'node:os';
import { basename, dirname, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { availableCpus } from '../src/cpus.js';
import { lineChart, PALETTE } from '../src/bench/svg.js';
import { median } from '../src/bench/stats.js';
import { treeCpuMs } from '../src/bench/tree-cpu.js';
import { packagePath } from '../src/paths.js';
import { photos, trueIndex } from '../test/helpers.js';
import { lowLoadOverhead, type Overhead } from './http/overhead.js';
import { checkAnswer, type ServiceSpec, startService } from './http/server.js';
import { wrk } from './http/wrk.js';
import { benchPython, SERVICE_DIR } from './python-service/venv.js';

/** `pytorch-infer serve` configurations: the flags after `serve --port 0`. */
const CONFIGS: Record<string, string[]> = {
  default: [],
  onnx: ['--backend', 'onnx'],
  int8: ['--model', 'model/mobilenet_v2_quantized_scripted.pt'],
  jimp: ['--decoder', 'jimp'],
};
const CONCURRENCY = [1, 4, 16, 64];
const PHOTO_COUNT = 32;
const PYTHON = 'python';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    config: { type: 'string', multiple: true, default: [] },
    quick: { type: 'boolean', default: false },
  },
});
const count = (name: string, value: string) => {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--${name} must be a whole number ≥ 1, got ${value}`);
  return n;
};
const SECONDS = args.quick ? 2 : count('seconds', args.seconds);
const WARMUP = args.quick ? 1 : count('warmup', args.warmup);
const ROUNDS = args.quick ? 1 : count('rounds', args.rounds);
for (const config of args.config) {
  const match = config.match(/^([\w.-]+)=(.*)$/);
  if (!match) throw new Error(`--config takes name="--flag value ...", got ${config}`);
  CONFIGS[match[1]] = match[2].split(/\s+/).filter(Boolean);
}
const OUT = args.quick ? packagePath('.cache', 'http-vs-python-quick') : packagePath('bench', 'results', 'http-vs-python');
const CLI = packagePath('dist', 'cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

const PHOTOS = photos().slice(0, PHOTO_COUNT);
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** A photo every model (float, int8, ONNX) ranks first correctly in the reference, to check answers with. */
const CHECK_PHOTO = (() => {
  const reference = JSON.parse(readFileSync(packagePath('test', 'fixtures', 'reference', 'reference.json'), 'utf8')) as {
    photos: { file: string; label: number; float: { top5: number[] }; int8: { top5: number[] }; onnx: { top5: number[] } }[];
  };
  const good = new Set(reference.photos.filter((p) => [p.float, p.int8, p.onnx].every((m) => m.top5[0] === p.label)).map((p) => p.file));
  const photo = PHOTOS.find((file) => good.has(file.split('/').pop()!));
  if (!photo) throw new Error('no photo that every model ranks right');
  return { file: photo, index: trueIndex(photo) };
})();

interface Service {
  readonly name: string;
  readonly spec: ServiceSpec;
  /** How a user would type it, for the report. */
  readonly command: string;
}

function serveService(name: string, flags: string[]): Service {
  return {
    name,
    spec: {
      command: process.execPath,
      args: [CLI, 'serve', '--port', '0', ...flags],
      ready: (output) => output.match(/listening on (http:\/\/\S+)/)?.[1],
    },
    command: ['node dist/cli.js serve --port 0', ...flags].join(' '),
  };
}

function pythonService(python: string): Service {
  const workers = 2;
  const args = ['-m', 'uvicorn', 'app:app', '--app-dir', SERVICE_DIR, '--host', '127.0.0.1', '--port', '0', '--workers', String(workers), '--no-access-log'];
  return {
    name: PYTHON,
    spec: {
      command: python,
      args,
      env: { ORT_DISABLE_TELEMETRY: '1' },
      // The master prints the URL before its workers have loaded the model: wait for every worker.
      ready: (output) => {
        const url = output.match(/Uvicorn running on (http:\/\/\S+)/)?.[1];
        return url && (output.match(/Application startup complete/g) ?? []).length >= workers ? url : undefined;
      },
    },
    command: `ORT_DISABLE_TELEMETRY=1 ${[python, ...args].map((a) => (a.startsWith('/') ? relative(packagePath(), a) : a)).join(' ')}`,
  };
}

interface Point {
  readonly round: number;
  readonly service: string;
  readonly concurrency: number;
  readonly imgPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly cpuMsPerImg: number;
}

/** Waits (at most a minute) until the server tree uses under 4 % of a core: queued work from the last load is done. */
async function settle(pid: number): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const before = treeCpuMs(pid);
    await sleep(500);
    if (treeCpuMs(pid) - before <= 20) return;
  }
  log(`process ${pid} still busy after a minute; measuring anyway`);
}

async function measure(service: string, round: number, base: string, pid: number, concurrency: number): Promise<Point> {
  const url = `${base}/v1/predict?top=5`;
  await wrk(url, PHOTOS, concurrency, WARMUP); // connections, JIT, allocators, the batcher at this load
  await settle(pid);
  // CPU over the load window only: what is still queued when wrk stops is nobody's answer.
  const cpuBefore = treeCpuMs(pid);
  const load = await wrk(url, PHOTOS, concurrency, SECONDS);
  const cpuMs = treeCpuMs(pid) - cpuBefore;
  await settle(pid);
  return {
    round, service, concurrency,
    imgPerSec: load.ok / load.seconds,
    p50Ms: load.p50Ms, p99Ms: load.p99Ms,
    errors: load.errors,
    cpuMsPerImg: load.ok > 0 ? cpuMs / load.ok : NaN,
  };
}

/** The commit measured (dist/ is built from it), marked when the work tree differs from it. */
function revision(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: packagePath(), encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
const python = await benchPython(log);
const services: Service[] = [
  ...('python' in python ? [pythonService(python.python)] : []),
  ...Object.entries(CONFIGS).map(([name, flags]) => serveService(name, flags)),
];
if ('missing' in python) log(`skipping the Python service: ${python.missing}`);
const loadAtStart = loadavg();
const started = new Date();
const commit = revision();

const points: Point[] = [];
/** pytorch-infer's latency at one connection beyond the decode and forward its answers report, per round. */
const overheads: (Overhead & { service: string; round: number })[] = [];
/** serve's own account of its settings (threads, decoder, batching), from its first start. */
const settings: Record<string, string> = {};
for (let round = 0; round < ROUNDS; round++) {
  // Rotated so that no service always runs first, on the freshest (or the most tired) machine.
  const order = services.map((_, i) => services[(i + round) % services.length]);
  for (const service of order) {
    log(`round ${round + 1}/${ROUNDS}: starting ${service.name}: ${service.command}`);
    const running = await startService(service.spec);
    try {
      await checkAnswer(running.base, CHECK_PHOTO.file, CHECK_PHOTO.index);
      const printed = running.startup.match(/^pytorch-infer serve: (.*)$/m)?.[1];
      if (printed) settings[service.name] ??= printed;
      if (service.name !== PYTHON) overheads.push({ service: service.name, round, ...(await lowLoadOverhead(running.base, PHOTOS)) });
      for (const concurrency of CONCURRENCY) {
        const point = await measure(service.name, round, running.base, running.pid, concurrency);
        points.push(point);
        log(`  c=${concurrency}: ${point.imgPerSec.toFixed(1)} img/s, p50 ${point.p50Ms.toFixed(1)} ms, p99 ${point.p99Ms.toFixed(1)} ms, ${point.cpuMsPerImg.toFixed(1)} CPU-ms/img, ${point.errors} errors`);
      }
    } finally {
      await running.stop();
    }
  }
}

interface Row {
  readonly service: string;
  readonly concurrency: number;
  readonly imgPerSec: number;
  readonly imgPerSecRange: readonly [number, number];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerImg: number;
  /** Summed over the rounds. */
  readonly errors: number;
  /** Median img/s and CPU-ms/img over the Python service's at the same concurrency. */
  readonly vsPython?: { readonly imgPerSec: number; readonly cpuMsPerImg: number };
}

const medians: Row[] = services.flatMap(({ name }) =>
  CONCURRENCY.map((concurrency) => {
    const own = points.filter((p) => p.service === name && p.concurrency === concurrency);
    const rates = own.map((p) => p.imgPerSec);
    return {
      service: name, concurrency,
      imgPerSec: median(rates),
      imgPerSecRange: [Math.min(...rates), Math.max(...rates)] as const,
      p50Ms: median(own.map((p) => p.p50Ms)),
      p99Ms: median(own.map((p) => p.p99Ms)),
      cpuMsPerImg: median(own.map((p) => p.cpuMsPerImg)),
      errors: own.reduce((sum, p) => sum + p.errors, 0),
    };
  }));
const rows: Row[] = medians.map((row) => {
  const reference = medians.find((r) => r.service === PYTHON && r.concurrency === row.concurrency);
  return reference ? { ...row, vsPython: { imgPerSec: row.imgPerSec / reference.imgPerSec, cpuMsPerImg: row.cpuMsPerImg / reference.cpuMsPerImg } } : row;
});

const machine = {
  cpus: availableParallelism(),
  cpusForThisProcess: availableCpus(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  kernel: `${process.platform} ${release()}`,
  node: process.version,
  loadAverage: { start: loadAtStart, end: loadavg() },
};
const run = {
  date: started.toISOString(),
  commit,
  command: ['node --import tsx bench/http-vs-python.ts', ...process.argv.slice(2).map((a) => (/\s/.test(a) ? JSON.stringify(a) : a))].join(' '),
  seconds: SECONDS, warmup: WARMUP, rounds: ROUNDS, photos: PHOTOS.length, concurrency: CONCURRENCY,
};
const report = {
  run, machine,
  python: 'missing' in python ? { skipped: python.missing } : python.versions,
  services: services.map(({ name, command }) => ({ name, command, settings: settings[name] })),
  rows, points, overheads,
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(`${OUT}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`${OUT}.md`, markdown());
writeFileSync(`${OUT}.svg`, plot());
console.log(markdown());
log(`wrote ${OUT}.{md,json,svg}`);

function markdown(): string {
  const f1 = (v: number) => v.toFixed(1);
  const ratio = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(2)}×`);
  const versions = 'missing' in python ? undefined : python.versions;
  const commands = services.map(({ name, command }) => `| ${name} | \`${command}\` | ${settings[name] ?? 'see below'} |`);
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  return [
    '# `pytorch-infer serve` vs the usual Python service (bench/http-vs-python.ts)',
    '',
    `${run.date.slice(0, 16).replace('T', ' ')} UTC · commit ${run.commit} · ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.cpusForThisProcess} usable here, shared with other work ` +
      `(load average ${load(machine.loadAverage.start)} at the start, ${load(machine.loadAverage.end)} at the end) · ${machine.kernel} · Node ${machine.node}` +
      (versions ? ` · Python ${versions.python}: onnxruntime ${versions.onnxruntime}, Pillow ${versions.pillow}, numpy ${versions.numpy}, FastAPI ${versions.fastapi}, uvicorn ${versions.uvicorn} (httptools ${versions.httptools}, uvloop ${versions.uvloop})` : ''),
    '',
    `Load: wrk, 1 thread, c connections on loopback, POST /v1/predict?top=5 with raw image/jpeg bodies cycling through ${PHOTOS.length} ImageNet photos ` +
      `(test/fixtures/imagenet-sample-100, ~500×375); ${SECONDS} s per point after a ${WARMUP} s warm-up at the same c, the server idle before each. ` +
      `${ROUNDS} round${ROUNDS > 1 ? 's' : ''}: each round starts every service afresh (in a rotated order), checks one answer's top-1, runs every c, stops it; ` +
      'the table holds the median over rounds (img/s range: lowest–highest round) and errors summed over rounds (non-2xx and socket errors).',
    'CPU-ms/photo: user + system CPU of the server\'s whole process tree (/proc/<pid>/stat of the server and its descendants, all threads) over the load window, divided by its 2xx answers ' +
      '(the work in flight when wrk stops, at most c photos, is counted without its answers: at c = 64 that can add a few %).',
    '× Python: the ratio to the Python service at the same c (img/s: above 1 is faster; CPU: below 1 is cheaper).',
    ...('missing' in python ? ['', `**The Python service was skipped**: ${python.missing}.`] : []),
    '',
    '| service | c | img/s | img/s range | × Python | p50 ms | p99 ms | CPU-ms/photo | × Python | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) =>
      `| ${r.service} | ${r.concurrency} | ${f1(r.imgPerSec)} | ${f1(r.imgPerSecRange[0])}–${f1(r.imgPerSecRange[1])} | ${ratio(r.vsPython?.imgPerSec)} | ` +
      `${f1(r.p50Ms)} | ${f1(r.p99Ms)} | ${f1(r.cpuMsPerImg)} | ${ratio(r.vsPython?.cpuMsPerImg)} | ${r.errors} |`),
    '',
    'Low load (issue 9\'s goal: p50 ≤ decode + forward + 3 ms): 40 requests one after another per service and round; each answer\'s timings give its decode and ' +
      'forward, the rest of the client\'s latency is the service\'s overhead (HTTP, queueing, threads). Medians over requests, then over rounds.',
    '',
    '| service | p50 latency ms | decode + forward ms | overhead ms |',
    '|---|---:|---:|---:|',
    ...services.filter(({ name }) => name !== PYTHON).map(({ name }) => {
      const own = overheads.filter((o) => o.service === name);
      const m = (key: keyof Overhead) => f1(median(own.map((o) => o[key])));
      return `| ${name} | ${m('latencyMs')} | ${m('decodePlusForwardMs')} | ${m('overheadMs')} |`;
    }),
    '',
    '| service | command (from the package root) | settings it printed at start |',
    '|---|---|---|',
    ...commands,
    '',
    `The Python service: bench/python-service/app.py (FastAPI, async handler computing inline, onnxruntime with 1 intra-op and 1 inter-op thread per worker, ` +
      'model/mobilenet_v2.onnx) and preprocess.py (torchvision\'s Resize(256) + CenterCrop(224) + ToTensor + Normalize in PIL + numpy, bit-identical to torchvision); ' +
      'the access log is off, as pytorch-infer logs no requests by default. Its venv: .cache/bench-venv from bench/python-service/requirements.txt.',
    '',
    `Run: \`npm run build && ${run.command}\`. Raw points per round: [${basename(OUT)}.json](${basename(OUT)}.json); img/s by c: [${basename(OUT)}.svg](${basename(OUT)}.svg).`,
    '',
  ].join('\n');
}

/** Median img/s against concurrency, one line per service. */
function plot(): string {
  return lineChart({
    title: `Throughput by concurrency, POST /v1/predict (median of ${ROUNDS})`,
    xLabel: 'connections (c)',
    yLabel: 'images / s',
    xTicks: CONCURRENCY,
    series: services.map(({ name }, i) => ({
      name,
      color: PALETTE[i % PALETTE.length],
      dashed: name === PYTHON,
      points: rows.filter((r) => r.service === name).map((r) => ({ x: r.concurrency, y: r.imgPerSec })),
    })),
    notes: ['dashed: the Python service'],
  });
}
