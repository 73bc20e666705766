// Prometheus metrics, on a registry of the server's own (two servers in one process,
// as in tests, must not share counters).
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

export class Metrics implements EngineObserver {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly requestSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly queueDepthGauge = new Gauge({
    name: 'inference_queue_depth',
    help: 'Images waiting for a forward',
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'inference_batch_size',
    help: 'Images per forward',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });

  readonly inferenceSeconds = new Histogram({
    name: 'inference_duration_seconds',
    help: 'Duration of one forward (a whole batch)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly decodeSeconds = new Histogram({
    name: 'image_decode_duration_seconds',
    help: 'Decode and preprocess time of one image, in a worker thread',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly modelInfo = new Gauge({
    name: 'model_info',
    help: 'The loaded model (value is always 1)',
    labelNames: ['name', 'version', 'backend', 'decoder', 'threads', 'max_batch'] as const,
    registers: [this.registry],
  });

  constructor(model: ModelInfo) {
    collectDefaultMetrics({ register: this.registry });
    const { name, version, backend, decoder, threads, maxBatch } = model;
    this.modelInfo.set({ name, version, backend, decoder, threads, max_batch: String(maxBatch) }, 1);
  }

  queueDepth(rows: number): void {
    this.queueDepthGauge.set(rows);
  }

  decoded(seconds: number): void {
    this.decodeSeconds.observe(seconds);
  }

  batch(size: number, seconds: number): void {
    this.batchSize.observe(size);
    this.inferenceSeconds.observe(seconds);
  }
}
