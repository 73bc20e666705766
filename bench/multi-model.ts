/*
 * Sharing the CPU between models (issue 10, item 3): `serve --model-repository` with one busy
 * model, then with two busy at once, over real HTTP on loopback. Do two busy models starve each
 * other, and does the total stay within 10 % of one model alone? Scenarios, each its own server
 * process, all started first and then measured in interleaved rounds (the machine is shared:
 * medians of per-round ratios, and server CPU-ms per image from /proc, are what to read):
 *   alone, alone-onnx — mobilenet on TorchScript, on ONNX Runtime, busy alone;
 *   twin   — two folders of the TorchScript model busy at once (fair: half each);
 *   mixed  — the TorchScript and the ONNX folder busy at once (a LibTorch forward takes both
 *            CPUs, an ONNX one one: the budget keeps them from running 2 + 2 threads at once).
 * "Within 10 % of one model alone" is read from CPU-ms per image (on a saturated machine img/s is
 * the CPUs over it), against the alone runs' costs weighted by each model's share.
 * Writes bench/results/multi-model.{md,json,svg}.
 *   npm run build && node --import tsx bench/multi-model.ts [secondsPerPoint] [rounds]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { availableCpus } from '../src/cpus.js';
import { lineChart, PALETTE } from '../src/bench/svg.js';
import { treeCpuMs } from '../src/bench/tree-cpu.js';
import { packagePath } from '../src/paths.js';
import { photos } from '../test/helpers.js';
import { type Running, startService } from './http/server.js';

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 3);
/** Connections per busy model: enough to keep its queue full (batches of --max-batch 4). */
const CONNECTIONS = 8;
const PHOTOS = photos().slice(0, 16).map((file) => readFileSync(file));
const RESULTS = packagePath('bench', 'results');
const MODEL = packagePath('model');

type FolderSpec = Record<string, string>;
const TORCHSCRIPT: FolderSpec = { 'model.pt': join(MODEL, 'traced_model.pt'), 'labels.txt': join(MODEL, 'class_names.txt') };
const ONNX: FolderSpec = { 'model.onnx': join(MODEL, 'mobilenet_v2.onnx'), 'labels.txt': join(MODEL, 'class_names.txt') };

interface Scenario {
  name: string;
  /** Folder name → its files; every folder is kept busy at once. */
  folders: Record<string, FolderSpec>;
}

const SCENARIOS: Scenario[] = [
  { name: 'alone', folders: { mobilenet: TORCHSCRIPT } },
  { name: 'alone-onnx', folders: { 'mobilenet-onnx': ONNX } },
  { name: 'twin', folders: { 'mobilenet-a': TORCHSCRIPT, 'mobilenet-b': TORCHSCRIPT } },
  { name: 'mixed', folders: { 'mobilenet-torchscript': TORCHSCRIPT, 'mobilenet-onnx': ONNX } },
];

interface Measured {
  scenario: string;
  round: number;
  /** Answered images per second, by model. */
  imgPerSec: Record<string, number>;
  /** Forwards each model ran (the scheduler's turns), from /metrics. */
  forwards: Record<string, number>;
  total: number;
  cpuMsPerImage: number;
  errors: number;
}

const scratch = mkdtempSync(join(tmpdir(), 'pytorch-infer-multi-model-'));

function repository(scenario: Scenario): string {
  const dir = join(scratch, scenario.name);
  for (const [name, files] of Object.entries(scenario.folders)) {
    mkdirSync(join(dir, name), { recursive: true });
    for (const [file, target] of Object.entries(files)) symlinkSync(target, join(dir, name, file));
  }
  return dir;
}

async function start(scenario: Scenario): Promise<Running> {
  const args = [packagePath('dist', 'cli.js'), 'serve', '--port', '0', '--log-level', 'warn', '--model-repository', repository(scenario)];
  return startService({ command: process.execPath, args, ready: (out) => out.match(/listening on (\S+)/)?.[1] });
}

/** inference_batch_size_count per model: the forwards each has run. */
async function forwards(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^inference_batch_size_count\{model="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

function busy(base: string, model: string): Promise<autocannon.Result> {
  return autocannon({
    url: `${base}/v1/predict?top=1&model=${model}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: PHOTOS.map((body) => ({ method: 'POST', body, headers: { 'content-type': 'image/jpeg' } })),
  });
}

async function measure(scenario: Scenario, server: Running, round: number): Promise<Measured> {
  const models = Object.keys(scenario.folders);
  const [cpuBefore, forwardsBefore] = [treeCpuMs(server.pid), await forwards(server.base)];
  const results = await Promise.all(models.map((model) => busy(server.base, model)));
  const [cpuAfter, forwardsAfter] = [treeCpuMs(server.pid), await forwards(server.base)];
  const imgPerSec = Object.fromEntries(models.map((model, i) => [model, results[i]['2xx'] / (results[i].duration)]));
  const images = results.reduce((n, r) => n + r['2xx'], 0);
  return {
    scenario: scenario.name,
    round,
    imgPerSec,
    forwards: Object.fromEntries(models.map((model) => [model, (forwardsAfter[model] ?? 0) - (forwardsBefore[model] ?? 0)])),
    total: Object.values(imgPerSec).reduce((a, b) => a + b, 0),
    cpuMsPerImage: (cpuAfter - cpuBefore) / images,
    errors: results.reduce((n, r) => n + r.errors + r.non2xx, 0),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);

/** Which alone scenario a folder's model is measured by. */
const ALONE_OF: Record<string, string> = { mobilenet: 'alone', 'mobilenet-a': 'alone', 'mobilenet-b': 'alone', 'mobilenet-torchscript': 'alone', 'mobilenet-onnx': 'alone-onnx' };

/**
 * One round's figures against the alone runs of that round: total img/s over the alone img/s, and
 * CPU-ms per image over what the alone runs cost for the same mix of models.
 */
function versusAlone(run: Measured, runs: Measured[]): { imgPerSec: number; cpu: number } {
  const alone = (model: string) => runs.find((r) => r.round === run.round && r.scenario === ALONE_OF[model])!;
  const models = Object.keys(run.imgPerSec);
  const expectedCpu = models.reduce((sum, m) => sum + (run.imgPerSec[m] / run.total) * alone(m).cpuMsPerImage, 0);
  const expectedImgPerSec = models.reduce((sum, m) => sum + (run.imgPerSec[m] / run.total) * alone(m).total, 0);
  return { imgPerSec: run.total / expectedImgPerSec, cpu: run.cpuMsPerImage / expectedCpu };
}

function table(runs: Measured[]): string {
  const lines = [
    '# Two busy models in one service',
    '',
    `\`node --import tsx bench/multi-model.ts ${SECONDS} ${ROUNDS}\` — ${ROUNDS} interleaved rounds × ${SECONDS} s per scenario, ${CONNECTIONS} connections per busy model, ` +
      `POST /v1/predict?model=NAME of 16 photos, \`serve --model-repository\` defaults (sharp, --max-batch 4, max-delay 0), ${availableCpus()} CPUs, load average ${loadAverage()}.`,
    'Medians over the rounds. "share": a model\'s part of the scenario\'s images; "turns": its part of the forwards. ' +
      '"÷ alone": against the alone runs of the same round for the same mix of models (img/s is noisy on a shared machine; CPU-ms per image is the robust figure).',
    '',
    '| scenario | model | img/s | share | turns | total img/s | img/s ÷ alone | server CPU-ms/img | CPU-ms/img ÷ alone | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const scenario of SCENARIOS) {
    const mine = runs.filter((r) => r.scenario === scenario.name);
    const models = Object.keys(scenario.folders);
    const totalForwards = (r: Measured) => Object.values(r.forwards).reduce((a, b) => a + b, 0);
    const versus = mine.map((r) => versusAlone(r, runs));
    models.forEach((model, i) => {
      const share = median(mine.map((r) => r.imgPerSec[model] / r.total));
      const turns = median(mine.map((r) => r.forwards[model] / totalForwards(r)));
      const whole = i === 0
        ? [f1(median(mine.map((r) => r.total))), f2(median(versus.map((v) => v.imgPerSec))), f2(median(mine.map((r) => r.cpuMsPerImage))), f2(median(versus.map((v) => v.cpu))), String(mine.reduce((n, r) => n + r.errors, 0))]
        : ['', '', '', '', ''];
      lines.push(`| ${i === 0 ? scenario.name : ''} | ${model} | ${f1(median(mine.map((r) => r.imgPerSec[model])))} | ${f2(share)} | ${f2(turns)} | ${whole.join(' | ')} |`);
    });
  }
  lines.push('', '## Rounds', '', '| round | scenario | img/s by model | total | img/s ÷ alone | CPU-ms/img | CPU-ms/img ÷ alone |', '|---:|---|---|---:|---:|---:|---:|');
  for (const r of runs) {
    const v = versusAlone(r, runs);
    lines.push(`| ${r.round} | ${r.scenario} | ${Object.entries(r.imgPerSec).map(([m, x]) => `${m} ${f1(x)}`).join(', ')} | ${f1(r.total)} | ${f2(v.imgPerSec)} | ${f2(r.cpuMsPerImage)} | ${f2(v.cpu)} |`);
  }
  return `${lines.join('\n')}\n`;
}

function plot(runs: Measured[]): string {
  const ticks = SCENARIOS.map((_, i) => i + 1);
  const series = [
    { name: 'total', color: PALETTE[0], points: SCENARIOS.map((s, i) => ({ x: i + 1, y: median(runs.filter((r) => r.scenario === s.name).map((r) => r.total)) })) },
    ...[0, 1].map((k) => ({
      name: k === 0 ? 'first model' : 'second model',
      color: PALETTE[k + 1],
      dashed: true,
      points: SCENARIOS.flatMap((s, i) => {
        const model = Object.keys(s.folders)[k];
        return model === undefined ? [] : [{ x: i + 1, y: median(runs.filter((r) => r.scenario === s.name).map((r) => r.imgPerSec[model])), label: model }];
      }),
    })),
  ];
  return lineChart({
    title: 'Two busy models in one service: img/s',
    xLabel: SCENARIOS.map((s, i) => `${i + 1} ${s.name}`).join(' · '),
    yLabel: 'images per second',
    series,
    xTicks: ticks,
    notes: [`medians of ${ROUNDS} rounds × ${SECONDS} s`, `${availableCpus()} CPUs, load ${loadAverage()}`],
  });
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const servers = new Map<string, Running>();
try {
  for (const scenario of SCENARIOS) servers.set(scenario.name, await start(scenario));
  const runs: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotated order, so no scenario always runs first (or last) in a round.
    for (let k = 0; k < SCENARIOS.length; k++) {
      const scenario = SCENARIOS[(k + round - 1) % SCENARIOS.length];
      const run = await measure(scenario, servers.get(scenario.name)!, round);
      runs.push(run);
      console.log(`round ${round} ${scenario.name}: ${Object.entries(run.imgPerSec).map(([m, v]) => `${m} ${f1(v)} img/s`).join(', ')}; ${f2(run.cpuMsPerImage)} CPU-ms/img`);
    }
  }
  const md = table(runs);
  console.log(`\n${md}`);
  writeFileSync(join(RESULTS, 'multi-model.md'), md);
  writeFileSync(join(RESULTS, 'multi-model.json'), `${JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, cpus: availableCpus(), loadAverage: loadAverage(), runs, versusAlone: runs.map((r) => ({ round: r.round, scenario: r.scenario, ...versusAlone(r, runs) })) }, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'multi-model.svg'), plot(runs));
} finally {
  await Promise.all([...servers.values()].map((s) => s.stop()));
  rmSync(scratch, { recursive: true, force: true });
}
