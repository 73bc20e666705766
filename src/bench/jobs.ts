// Measurements that run in a process of their own (see child.ts): one model loaded with one
// thread count, so LibTorch's process-wide thread pool and the peak RSS belong to that model alone.
import { readFile } from 'node:fs/promises';
import { createBackend } from '../backend.js';
import { Classifier } from '../classifier.js';
import type { DecoderName } from '../image/types.js';
import { type Engine, backendOptions, findEngine } from './engines.js';
import { peakRssMb } from './memory.js';
import { summarize, type Timing } from './stats.js';

/** Forwards of a batch of images, per batch size: the model alone. */
export interface InferJob {
  readonly kind: 'infer';
  readonly engine: string;
  readonly threads: number;
  readonly batches: readonly number[];
  /** Timed forwards per batch size, after WARMUP untimed ones. */
  readonly iterations: number;
}

/** Photo bytes in, top-k out, one photo at a time: decode + preprocess + forward. */
export interface PipelineJob {
  readonly kind: 'pipeline';
  readonly engine: string;
  readonly threads: number;
  readonly decoder: DecoderName;
  readonly photos: readonly string[];
  /** Timed passes over the photos, after one untimed pass. */
  readonly rounds: number;
}

export type Job = InferJob | PipelineJob;

interface Process {
  /** The runtime and its version, as the backend reports it. */
  readonly runtime: string;
  /** Model load, warm-up forward included. */
  readonly loadMs: number;
  readonly peakRssMb?: number;
}

export interface BatchTiming extends Timing {
  readonly batch: number;
  readonly imgPerSec: number;
}

export interface InferResult extends Process {
  readonly batches: readonly BatchTiming[];
}

export interface PipelineResult extends Process {
  /** Decode + preprocess, per photo. */
  readonly decode: Timing;
  /** Decode + preprocess + forward + top-k, per photo. */
  readonly total: Timing;
  readonly imgPerSec: number;
}

export type JobResult<J extends Job> = J extends InferJob ? InferResult : PipelineResult;

// Enough for LibTorch's profiling executor to settle on a new input shape.
const WARMUP = 5;

/** Runs a job in this process; `step` is called after each unit of work (a batch size, a pass). */
export async function runJob<J extends Job>(job: J, step: () => void): Promise<JobResult<J>> {
  const engine = findEngine(job.engine);
  const result = job.kind === 'infer' ? await infer(engine, job, step) : await pipeline(engine, job, step);
  return result as JobResult<J>;
}

async function infer(engine: Engine, job: InferJob, step: () => void): Promise<InferResult> {
  const start = performance.now();
  const backend = await createBackend(engine.backend, backendOptions(engine, job.threads));
  const loadMs = performance.now() - start;
  const batches: BatchTiming[] = [];
  try {
    for (const batch of job.batches) {
      // A model traced at batch 1 (the int8 artifact) takes nothing larger: no row for it.
      if (batch > backend.maxBatch) {
        step();
        continue;
      }
      // MobileNetV2's work does not depend on pixel values; random input keeps decoders out of
      // this process's memory.
      const shape = [batch, ...backend.inputShape];
      const input = { data: new Float32Array(shape.reduce((a, b) => a * b)).map(() => Math.random() * 4 - 2), shape };
      for (let i = 0; i < WARMUP; i++) await backend.forward(input);
      const perImage = [];
      for (let i = 0; i < job.iterations; i++) {
        const t = performance.now();
        await backend.forward(input);
        perImage.push((performance.now() - t) / batch);
      }
      const timing = summarize(perImage);
      batches.push({ batch, ...timing, imgPerSec: 1000 / timing.mean });
      step();
    }
  } finally {
    await backend.close();
  }
  return { runtime: backend.runtime, loadMs, peakRssMb: peakRssMb(), batches };
}

async function pipeline(engine: Engine, job: PipelineJob, step: () => void): Promise<PipelineResult> {
  const photos = await Promise.all(job.photos.map((file) => readFile(file)));
  const start = performance.now();
  const classifier = await Classifier.create({ backend: engine.backend, ...backendOptions(engine, job.threads), decoder: job.decoder });
  const loadMs = performance.now() - start;
  const decode: number[] = [];
  const total: number[] = [];
  try {
    for (let round = -1; round < job.rounds; round++) {
      for (const bytes of photos) {
        const t0 = performance.now();
        const input = await classifier.preprocess(bytes);
        const t1 = performance.now();
        await classifier.predict(input, 3);
        const t2 = performance.now();
        if (round < 0) continue; // the warm-up pass
        decode.push(t1 - t0);
        total.push(t2 - t0);
      }
      if (round >= 0) step();
    }
  } finally {
    await classifier.close();
  }
  const timing = summarize(total);
  return {
    runtime: classifier.backend.runtime,
    loadMs,
    peakRssMb: peakRssMb(),
    decode: summarize(decode),
    total: timing,
    imgPerSec: 1000 / timing.mean,
  };
}
