// Prometheus metrics, on a registry of the server's own (two servers in one process,
// as in tests, must not share counters). Everything a model does carries a `model` label;
// requests carry the model they were for ('' for routes of no model), never a name a client
// made up, so the label's values are bounded by the repository.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineObserver } from '../engine/engine.js';

export interface ModelInfo {
  name: string;
  version: string;
  backend: string;
  decoder: string;
  threads: number;
  maxBatch: number;
}

// Milliseconds-scale work on a CPU: 1 ms to 10 s.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route, method, status code and model',
    labelNames: ['route', 'method', 'status', 'model'] as const,
    registers: [this.registry],
  });

  readonly requestSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['route', 'method', 'model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly queueDepthGauge = new Gauge({
    name: 'inference_queue_depth',
    help: 'Images waiting for a forward',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'inference_batch_size',
    help: 'Images per forward',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly inferenceSeconds = new Histogram({
    name: 'inference_duration_seconds',
    help: 'Duration of one forward (a whole batch)',
    buckets: LATENCY_BUCKETS,
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly decodeSeconds = new Histogram({
    name: 'image_decode_duration_seconds',
    help: 'Decode and preprocess time of one image, in a worker thread',
    buckets: LATENCY_BUCKETS,
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly modelInfo = new Gauge({
    name: 'model_info',
    help: 'A loaded model (value is always 1)',
    labelNames: ['name', 'version', 'backend', 'decoder', 'threads', 'max_batch'] as const,
    registers: [this.registry],
  });

  /** Loaded models by model_info's labels: during a reload the old and the new model share a series. */
  readonly #loaded = new Map<string, number>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Lists a loaded model and gives what its engine reports to, labelled with its name. */
  model(info: ModelInfo): EngineObserver {
    const model = info.name;
    const key = JSON.stringify(infoLabels(info));
    this.#loaded.set(key, (this.#loaded.get(key) ?? 0) + 1);
    this.modelInfo.set(infoLabels(info), 1);
    return {
      queueDepth: (rows) => this.queueDepthGauge.set({ model }, rows),
      decoded: (seconds) => this.decodeSeconds.observe({ model }, seconds),
      batch: (size, seconds) => {
        this.batchSize.observe({ model }, size);
        this.inferenceSeconds.observe({ model }, seconds);
      },
    };
  }

  /** An unloaded model leaves model_info (its counters stay: they are history). */
  unloaded(info: ModelInfo): void {
    const key = JSON.stringify(infoLabels(info));
    const left = (this.#loaded.get(key) ?? 1) - 1;
    if (left > 0) {
      this.#loaded.set(key, left);
      return;
    }
    this.#loaded.delete(key);
    this.modelInfo.remove(infoLabels(info));
  }
}

function infoLabels({ name, version, backend, decoder, threads, maxBatch }: ModelInfo) {
  return { name, version, backend, decoder, threads, max_batch: String(maxBatch) };
}
