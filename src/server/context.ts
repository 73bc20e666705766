import type { Classifier } from '../classifier.js';
import type { Engine } from '../engine/engine.js';
import type { ModelRepository } from '../model/repository.js';
import type { Metrics, ModelInfo } from './metrics.js';

/** One model as the service runs it: its classifier (backend, labels, config) behind an engine of its own. */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly classifier: Classifier;
  readonly engine: Engine;
  readonly info: ModelInfo;
}

/** What the route plugins share: the models by name, the metrics, and whether to take work. */
export interface ServiceContext {
  models: ModelRepository<ServedModel>;
  metrics: Metrics;
  /** Images a request may carry (--max-queue): the multipart file limit. */
  maxQueue: number;
  /** The model of a request that names none: --default-model, or the only one; else a 400 saying which exist. */
  model(name: string | undefined): ServedModel;
  /** The default model's name, if there is one. */
  readonly defaultModel: string | undefined;
  /** Models loaded and warmed up, and not shutting down. */
  isReady(): boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The model a request was answered by, for the metrics' `model` label; '' for routes of no model. */
    modelName: string;
  }
}
