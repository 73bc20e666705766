// One benchmark run: every engine measured side by side on this machine, each measurement in a
// process of its own, so ratios between rows are fair even where absolute times are noisy.
import type { DecoderName } from '../image/types.js';
import { runInChild } from './child.js';
import { cliFlags, type Engine } from './engines.js';
import type { InferResult, PipelineResult } from './jobs.js';
import { launch, type Launch } from './launch.js';
import type { Progress } from './progress.js';
import { referenceArgs } from './python.js';
import { summarize } from './stats.js';

export interface BenchOptions {
  readonly engines: readonly Engine[];
  readonly decoders: readonly DecoderName[];
  /** Intra-op thread counts for the inference-only rows; the largest is used everywhere else. */
  readonly threads: readonly number[];
  readonly batches: readonly number[];
  readonly iterations: number;
  readonly rounds: number;
  /** New processes started per engine for the cold-start figure (the median is reported). */
  readonly coldStarts: number;
  readonly photos: readonly string[];
  /** A Python that imports torch, for the PIL + TorchScript baseline row; none: no such row. */
  readonly python?: string;
}

/** New process → answers: the first top-3 (cold start) and the rest (ms per photo after it). */
export interface ColdStart {
  readonly coldStartMs: number;
  /** End-to-end ms per photo in that process after the first answer. */
  readonly perPhotoMs: number;
  readonly peakRssMb?: number;
}

export interface EngineReport {
  readonly engine: Engine;
  readonly runtime: string;
  readonly loadMs: number;
  readonly coldStart: ColdStart;
  readonly infer: readonly (InferResult & { threads: number })[];
  readonly pipeline: readonly (PipelineResult & { decoder: DecoderName })[];
}

export interface BenchReport {
  readonly date: string;
  readonly options: BenchOptions;
  readonly threads: number;
  readonly engines: readonly EngineReport[];
  readonly python?: ColdStart;
}

// The CLI this command runs in: dist/cli.js, a bundle's cli.js, or src/cli.ts under tsx (whose
// loader comes with execArgv).
const CLI = process.argv[1];

/** How many progress steps `runBenchmark` reports. */
export function countSteps(o: BenchOptions): number {
  const perEngine = o.threads.length * o.batches.length + o.decoders.length * o.rounds + o.coldStarts;
  return o.engines.length * perEngine + (o.python ? o.coldStarts : 0);
}

export async function runBenchmark(options: BenchOptions, progress: Progress): Promise<BenchReport> {
  const threads = Math.max(...options.threads);
  const step = () => progress.step();
  const engines: EngineReport[] = [];
  for (const engine of options.engines) {
    const infer = [];
    for (const t of options.threads) {
      progress.task(`${engine.id}: inference, ${t} thread${t > 1 ? 's' : ''}, batch ${options.batches.join('/')}`);
      const result = await runInChild({ kind: 'infer', engine: engine.id, threads: t, batches: options.batches, iterations: options.iterations }, step);
      infer.push({ ...result, threads: t });
    }
    const pipeline = [];
    for (const decoder of options.decoders) {
      progress.task(`${engine.id}: end to end with ${decoder}`);
      const result = await runInChild({ kind: 'pipeline', engine: engine.id, threads, decoder, photos: options.photos, rounds: options.rounds }, step);
      pipeline.push({ ...result, decoder });
    }
    progress.task(`${engine.id}: cold start of pytorch-infer predict`);
    const args = [...process.execArgv, CLI, 'predict', ...cliFlags(engine), '--threads', String(threads), ...options.photos];
    const coldStart = await coldStarts(process.execPath, args, options.coldStarts, step);
    // Every job loads the engine the same way (backend and warm-up forward); the fastest is
    // reported, as one load can stall (seen: 2.7 s instead of 0.5 in a machine's first run).
    const loadMs = Math.min(...[...infer, ...pipeline].map((job) => job.loadMs));
    engines.push({ engine, runtime: infer[0].runtime, loadMs, coldStart, infer, pipeline });
  }
  let python: ColdStart | undefined;
  if (options.python) {
    progress.task('python: scripts/export/reference.py (PIL + TorchScript)');
    python = await coldStarts(options.python, referenceArgs(options.photos, threads), options.coldStarts, step);
  }
  return { date: new Date().toISOString(), options, threads, engines, python };
}

/** Medians over `n` launches of the same command (a fresh process each time). */
async function coldStarts(command: string, args: readonly string[], n: number, step: () => void): Promise<ColdStart> {
  const runs: Launch[] = [];
  for (let i = 0; i < n; i++) {
    runs.push(await launch(command, args, 3));
    step();
  }
  const median = (values: number[]) => summarize(values).p50;
  const perPhoto = runs.map(({ answers }) => (answers.length > 1 ? (answers[answers.length - 1] - answers[0]) / (answers.length - 1) : NaN));
  const peaks = runs.flatMap((r) => (r.peakRssMb === undefined ? [] : [r.peakRssMb]));
  return {
    coldStartMs: median(runs.map((r) => r.answers[0])),
    perPhotoMs: median(perPhoto),
    peakRssMb: peaks.length ? Math.max(...peaks) : undefined,
  };
}
