// The service's models: one classifier given at start, or every folder of a model repository,
// each behind an engine of its own (its own batching queue and decoder workers), all sharing one
// scheduler so that busy models take turns on the CPUs (src/engine/scheduler.ts).
import { Classifier, type ClassifierOptions } from '../classifier.js';
import { DEFAULT_DECODE_DEADLINE_MS, DecodePool } from '../engine/decode-pool.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { DEFAULT_DECODER } from '../image/types.js';
import { ForwardScheduler } from '../engine/scheduler.js';
import { type ModelLoader, ModelRepository } from '../model/repository.js';
import type { ServedModel, ServiceContext } from './context.js';
import { badRequest } from './errors.js';
import type { Metrics } from './metrics.js';

/** `serve --model-repository DIR`: the models to serve are DIR's folders. */
export interface RepositorySource {
  repository: string;
  /** How every folder's classifier is made (decoder, optimize…; backend: run every folder on this one). */
  classifier: Omit<ClassifierOptions, 'model' | 'labels' | 'threads' | 'lanes'>;
  /** Intra-op threads and lanes of each model. */
  threading: { threads: number; lanes: number };
  /** The model of requests that name none; default: the only model, if there is one. */
  defaultModel?: string;
  /** Allow load/unload over HTTP (--enable-model-control). */
  modelControl?: boolean;
}

/** One loaded classifier, or a repository of model folders. */
export type ModelSource = Classifier | RepositorySource;

export interface ModelsOptions extends Omit<EngineOptions, 'scheduler'> {
  /** Decode worker threads of each model. */
  decodeWorkers: number;
  /** A decode running longer is stopped and fails (422); default DEFAULT_DECODE_DEADLINE_MS. */
  decodeTimeoutMs?: number;
  /** A single classifier's name (default: its folder's or file's name) and version (default: its config's). */
  modelName?: string;
  modelVersion?: string;
}

/** Loads the models and gives the routes' context; `closing` says when the server shuts down. */
export async function openModels(source: ModelSource, options: ModelsOptions, metrics: Metrics, closing: () => boolean): Promise<ServiceContext> {
  const { repository, defaultModel } = await openRepository(source, options, metrics);
  return {
    models: repository,
    metrics,
    maxQueue: options.maxQueue,
    defaultModel,
    model(name) {
      const chosen = name ?? defaultModel;
      if (chosen === undefined) {
        throw badRequest(`name the model with ?model=NAME: this server has ${repository.names.map((n) => `'${n}'`).join(', ') || 'no models'} and no --default-model`);
      }
      return repository.get(chosen);
    },
    isReady: () => !closing() && repository.ready.length > 0,
  };
}

async function openRepository(
  source: ModelSource,
  options: ModelsOptions,
  metrics: Metrics,
): Promise<{ repository: ModelRepository<ServedModel>; defaultModel: string | undefined }> {
  const scheduler = new ForwardScheduler();
  const decodePool = (decoder = DEFAULT_DECODER) =>
    new DecodePool({ size: options.decodeWorkers, deadlineMs: options.decodeTimeoutMs ?? DEFAULT_DECODE_DEADLINE_MS, decoder });
  const serve = async (classifier: Classifier, pool: DecodePool, name: string, version: string): Promise<ServedModel> => {
    const { backend } = classifier;
    const info = {
      name, version, backend: backend.name, decoder: classifier.decoder, threads: backend.threads, maxBatch: Math.min(options.maxBatch, backend.maxBatch),
    };
    const engine = new Engine(classifier, pool, { ...options, scheduler }, metrics.model(info));
    try {
      await engine.warmUp();
    } catch (err) {
      metrics.unloaded(info);
      await engine.close();
      throw err;
    }
    return { name, version, classifier, engine, info };
  };
  const loader: ModelLoader<ServedModel> = {
    async load(name, dir) {
      if (source instanceof Classifier) throw new Error('a single model has no repository to load from');
      // The workers warm up while the model loads.
      const pool = decodePool(source.classifier.decoder);
      const classifier = await Classifier.create({ ...source.classifier, ...source.threading, model: dir }).catch(async (err: Error) => {
        await pool.close();
        throw err;
      });
      return serve(classifier, pool, name, classifier.config.version);
    },
    async unload(model) {
      metrics.unloaded(model.info);
      await model.engine.close();
    },
    version: (model) => model.version,
  };

  if (source instanceof Classifier) {
    const name = options.modelName ?? source.model.name;
    const model = await serve(source, decodePool(source.decoder), name, options.modelVersion ?? source.config.version);
    return { repository: ModelRepository.single(name, model, loader), defaultModel: name };
  }
  const repository = await ModelRepository.open(source.repository, loader, source.modelControl ?? false);
  const { names } = repository;
  if (source.defaultModel !== undefined && !repository.has(source.defaultModel)) {
    await repository.close();
    throw new Error(`--default-model ${source.defaultModel}: the repository ${source.repository} has no such folder (it has ${names.join(', ') || 'none'})`);
  }
  return { repository, defaultModel: source.defaultModel ?? (names.length === 1 ? names[0] : undefined) };
}
