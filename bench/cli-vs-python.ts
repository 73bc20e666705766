/*
 * `pytorch-infer predict` on a folder of 300 ImageNet photos (test/fixtures/imagenet-sample-100
 * three times over), whole process from start to exit, side by side with the loop a Python user
 * would write (bench/cli-vs-python/loop.py: PIL + onnxruntime, same weights) and with predict as
 * it was before it ran on the engine (--baseline, built once into .cache/). Every command runs
 * once per round, the order rotated each round; the table holds medians over rounds, and each
 * ratio is the median of the per-round ratios (the machine is shared and its load drifts).
 * Each run's answers are checked: 300 JSON lines, top-1 accuracy, top-1 agreement with Python.
 * Writes bench/results/cli-vs-python.{md,json}.
 *   npm run build && node --import tsx bench/cli-vs-python.ts [--rounds 5] [--baseline COMMIT]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/bench/stats.js';
import { packagePath } from '../src/paths.js';
import { PHOTOS_DIR, photos, trueIndex } from '../test/helpers.js';
import { benchPython } from './python-service/venv.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    // The last main before predict ran on the engine: one photo at a time with Classifier.classify.
    baseline: { type: 'string', default: '7285446c6d872679fc2f13658e31e90bf6393f23' },
  },
});
const ROUNDS = Number(args.rounds);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds must be a whole number ≥ 1, got ${args.rounds}`);
const CLI = packagePath('dist', 'cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
const OUT = packagePath('bench', 'results', 'cli-vs-python');
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** 300 photos as a user's folder: each fixture three times, as symlinks under new names. */
const FOLDER = packagePath('.cache', 'cli-vs-python-photos');
rmSync(FOLDER, { recursive: true, force: true });
mkdirSync(FOLDER, { recursive: true });
for (let copy = 1; copy <= 3; copy++) {
  for (const file of photos()) symlinkSync(file, join(FOLDER, `${copy}-${file.split('/').pop()}`));
}
const FILES = readdirSync(FOLDER).sort().map((name) => join(FOLDER, name));

/** The baseline's package: its src/ built with this checkout's node_modules, addon and model. */
function buildBaseline(commit: string): string {
  const dir = packagePath('.cache', `cli-baseline-${commit.slice(0, 12)}`);
  if (existsSync(join(dir, 'dist', 'cli.js'))) return dir;
  log(`building predict as of ${commit.slice(0, 12)} into ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${commit} src tsconfig.json package.json | tar -x -C ${dir}`], { cwd: packagePath() });
  for (const shared of ['node_modules', 'build', 'model', 'samples']) symlinkSync(packagePath(shared), join(dir, shared));
  execFileSync(packagePath('node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  return dir;
}

interface Command {
  name: string;
  /** As a user types it, for the table. */
  shown: string;
  argv: string[];
}

const python = await benchPython(log);
if ('missing' in python) throw new Error(python.missing);
const baseline = buildBaseline(args.baseline);
const predict = (flags: string[]) => [process.execPath, CLI, 'predict', '--json', ...flags, FOLDER];
const COMMANDS: Command[] = [
  {
    name: 'python',
    shown: 'python loop.py photos/ (PIL + onnxruntime)',
    argv: [python.python, packagePath('bench', 'cli-vs-python', 'loop.py'), FOLDER, packagePath('model', 'mobilenet_v2.onnx'), packagePath('model', 'class_names.txt')],
  },
  { name: 'before', shown: `predict --json photos/* (before: ${args.baseline.slice(0, 7)}, jimp, TorchScript)`, argv: [process.execPath, join(baseline, 'dist', 'cli.js'), 'predict', '--json', ...FILES] },
  { name: 'default', shown: 'predict --json photos/ (jimp, TorchScript)', argv: predict([]) },
  { name: 'sharp', shown: 'predict --json --decoder sharp photos/', argv: predict(['--decoder', 'sharp']) },
  { name: 'sharp-onnx', shown: 'predict --json --decoder sharp --backend onnx photos/', argv: predict(['--decoder', 'sharp', '--backend', 'onnx']) },
];

interface Run {
  round: number;
  command: string;
  seconds: number;
  /** User + system CPU of the process and its children (bash's `times`). */
  cpuSeconds: number;
  top1: number[];
}

/** Runs one command to its exit under bash, which reports its children's CPU time afterwards. */
function run(command: Command, round: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const script = '"$@" || exit $?; times >&2';
    const child = spawn('bash', ['-c', script, 'bash', ...command.argv], { env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const started = performance.now();
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const stderr = Buffer.concat(err).toString();
      if (code !== 0) return reject(new Error(`${command.name} exited with ${code}: ${stderr}`));
      // times' second line: the children's user and system time, as 0m1.234s 0m0.567s.
      const children = stderr.trim().split('\n').at(-1)!.match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/);
      if (!children) return reject(new Error(`no CPU times from bash for ${command.name}: ${stderr}`));
      const cpuSeconds = Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]);
      const lines = Buffer.concat(out).toString().trim().split('\n').map((l) => JSON.parse(l) as { file: string; predictions: { index: number }[] });
      if (lines.length !== FILES.length || lines.some((l, i) => l.file !== FILES[i])) {
        return reject(new Error(`${command.name}: expected ${FILES.length} answers in folder order, got ${lines.length}`));
      }
      resolve({ round, command: command.name, seconds, cpuSeconds, top1: lines.map((l) => l.predictions[0].index) });
    });
  });
}

const loadAtStart = loadavg();
const started = new Date();
// The code measured: dist/ as built from this commit (a later checkout would misname it).
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: packagePath() }).toString().trim();
const runs: Run[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = COMMANDS.map((_, i) => COMMANDS[(i + round) % COMMANDS.length]);
  for (const command of order) {
    const result = await run(command, round);
    runs.push(result);
    log(`round ${round + 1}/${ROUNDS} ${command.name}: ${result.seconds.toFixed(2)} s, ${result.cpuSeconds.toFixed(2)} CPU-s`);
  }
}

/** Median over rounds of (reference's figure ÷ this command's) in the same round: above 1 is faster, or cheaper. */
function speedup(name: string, reference: string, figure: 'seconds' | 'cpuSeconds' = 'seconds'): number {
  const figures = (n: string) => new Map(runs.filter((r) => r.command === n).map((r) => [r.round, r[figure]]));
  const own = figures(name);
  const ref = figures(reference);
  return median([...own].map(([round, value]) => ref.get(round)! / value));
}

const truth = FILES.map((file) => trueIndex(file.split('/').pop()!.slice('1-'.length)));
const pythonTop1 = runs.find((r) => r.command === 'python')!.top1;
const rows = COMMANDS.map(({ name, shown }) => {
  const own = runs.filter((r) => r.command === name);
  const seconds = own.map((r) => r.seconds);
  const top1 = own[0].top1;
  return {
    name, shown,
    seconds: median(seconds),
    range: [Math.min(...seconds), Math.max(...seconds)] as const,
    cpuSeconds: median(own.map((r) => r.cpuSeconds)),
    vsPython: speedup(name, 'python'),
    // Whole-process CPU: what a loaded machine's time slices blur least.
    cpuVsPython: speedup(name, 'python', 'cpuSeconds'),
    vsBefore: speedup(name, 'before'),
    accuracy: top1.filter((index, i) => index === truth[i]).length / FILES.length,
    agreesWithPython: top1.filter((index, i) => index === pythonTop1[i]).length,
    // Every round gives the same answers: a pipeline's result does not depend on timing.
    stable: own.every((r) => r.top1.every((index, i) => index === top1[i])),
  };
});
const row = (name: string) => rows.find((r) => r.name === name)!;
const goals = [
  { goal: '--decoder sharp ≥ 1.5× faster than the Python loop', value: row('sharp').vsPython, target: 1.5 },
  { goal: '--decoder sharp --backend onnx ≥ 2× faster than the Python loop', value: row('sharp-onnx').vsPython, target: 2 },
  { goal: 'the default (jimp) ≥ 1.5× faster than before', value: row('default').vsBefore, target: 1.5 },
].map((g) => ({ ...g, met: g.value >= g.target }));

const machine = { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: { start: loadAtStart, end: loadavg() } };
const report = { date: started.toISOString(), commit, rounds: ROUNDS, photos: FILES.length, machine, python: python.versions, rows, goals, runs: runs.map(({ top1: _, ...r }) => r) };
mkdirSync(packagePath('bench', 'results'), { recursive: true });
writeFileSync(`${OUT}.json`, `${JSON.stringify(report, null, 2)}\n`);
const markdown = [
  '# `pytorch-infer predict` on a folder vs the Python loop (bench/cli-vs-python.ts)',
  '',
  `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC · commit ${commit.slice(0, 12)} · ${machine.cpus} CPUs (${machine.cpuModel}) shared with other work ` +
    `(load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} at the start, ${machine.loadAverage.end.map((l) => l.toFixed(1)).join(' ')} at the end) · Node ${machine.node} · ` +
    `Python ${python.versions.python}, onnxruntime ${python.versions.onnxruntime}, Pillow ${python.versions.pillow}, numpy ${python.versions.numpy}`,
  '',
  `${FILES.length} photos (${PHOTOS_DIR.replace(packagePath() + '/', '')} three times, ~500×375 JPEG), whole process from start to exit, ${ROUNDS} rounds with the order rotated each round. ` +
    'seconds: median (range) over rounds; CPU-s: user + system of the whole process; × Python and × before: the median over rounds of that round\'s time ratio (above 1: faster); ' +
    'CPU ÷: the same for CPU-s (above 1: less CPU than the Python loop). ' +
    `top-1: accuracy against the photos' ImageNet labels; = Python: photos whose top-1 is the Python loop's.`,
  '',
  '| command | seconds | range | CPU-s | × Python | CPU ÷ Python | × before | top-1 | = Python |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) =>
    `| \`${r.shown}\` | ${r.seconds.toFixed(2)} | ${r.range[0].toFixed(2)}–${r.range[1].toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${r.vsPython.toFixed(2)}× | ${r.cpuVsPython.toFixed(2)}× | ${r.vsBefore.toFixed(2)}× | ` +
    `${(r.accuracy * 100).toFixed(1)}% | ${r.agreesWithPython}/${FILES.length}${r.stable ? '' : ' (varied by round!)'} |`),
  '',
  '| goal | measured | met |',
  '|---|---:|---|',
  ...goals.map((g) => `| ${g.goal} | ${g.value.toFixed(2)}× | ${g.met ? 'yes' : '**no**'} |`),
  '',
  'The Python loop: [bench/cli-vs-python/loop.py](../cli-vs-python/loop.py) (model/mobilenet_v2.onnx, onnxruntime\'s default threads, torchvision\'s transform in PIL + numpy); ' +
    `its venv: .cache/bench-venv from the local pip mirror. "before": src/ of ${args.baseline.slice(0, 12)} built into .cache/, given the 300 paths (it took no folders).`,
  '',
  `Run: \`npm run build && node --import tsx bench/cli-vs-python.ts --rounds ${ROUNDS}\`; every run: [cli-vs-python.json](cli-vs-python.json).`,
  '',
].join('\n');
writeFileSync(`${OUT}.md`, markdown);
console.log(markdown);
log(`wrote ${OUT}.{md,json}`);
