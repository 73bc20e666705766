import type { Labels } from '../labels.js';
import type { Engine } from '../engine/engine.js';
import type { Metrics, ModelInfo } from './metrics.js';

/** What the route plugins share: the engine, the model's identity, and whether to take work. */
export interface ServiceContext {
  engine: Engine;
  metrics: Metrics;
  model: ModelInfo;
  labels: Labels;
  /** Model loaded and warmed up, and not shutting down. */
  isReady(): boolean;
}
