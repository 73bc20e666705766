import { readFile, stat } from 'node:fs/promises';
import type { Backend, BackendName, BackendOptions } from './backend.js';
import { type LoadOptions, loadTensor } from './image/index.js';
import { DEFAULT_DECODER, DEFAULT_MAX_PIXELS, type DecoderName } from './image/types.js';
import type { Labels, Prediction } from './labels.js';
import type { ModelConfig } from './model/config.js';
import { type LoadedModel, loadModelFile, loadModelFolder } from './model/load.js';
import { DEFAULT_LABELS } from './paths.js';
import { concat, split, type Tensor } from './tensor.js';

export interface ClassifierOptions extends Omit<BackendOptions, 'config'> {
  /** A model folder (model.pt or model.onnx, labels.txt, config.json) or a model file; default: the backend's model under model/. */
  model?: string;
  /** Default: torchscript; for a folder, the model file it has (model.pt first). */
  backend?: BackendName;
  /** Class names file for a model file, one per line in model-output order (a folder has its labels.txt). */
  labels?: string;
  decoder?: DecoderName;
  /** Images with more pixels are refused before they are decoded. */
  maxPixels?: number;
  /** Decode large JPEGs at full size instead of at PIL's draft() scale (sharp). */
  exactDecode?: boolean;
}

/** A photo as a file path or its encoded bytes (JPEG, PNG, GIF, BMP, TIFF, WebP…). */
export type ImageInput = string | Uint8Array;

/** Photos in, top-k classes out: decoding, preprocessing, inference and labels. */
export class Classifier {
  readonly backend: Backend;
  readonly labels: Labels;

  private constructor(
    readonly model: LoadedModel,
    /** How photos become tensors: the decoder, its options and the model's preprocessing. */
    readonly loading: Required<LoadOptions>,
  ) {
    this.backend = model.backend;
    this.labels = model.labels;
  }

  get decoder(): DecoderName {
    return this.loading.decoder;
  }

  get config(): ModelConfig {
    return this.model.config;
  }

  static async create(options: ClassifierOptions = {}): Promise<Classifier> {
    const { model: path, labels, ...rest } = options;
    const folder = path !== undefined && ((await stat(path).catch(() => undefined))?.isDirectory() ?? false);
    if (folder && labels !== undefined) throw new Error(`labels ${labels}: a model folder has its own labels.txt (${path})`);
    const model = folder ? await loadModelFolder(path, rest) : await loadModelFile(path, labels ?? DEFAULT_LABELS, rest);
    const { decoder = DEFAULT_DECODER, maxPixels = DEFAULT_MAX_PIXELS[decoder], exactDecode = false } = options;
    return new Classifier(model, { decoder, maxPixels, exactDecode, preprocessing: model.config.preprocessing });
  }

  /** Reads, decodes and preprocesses one photo into a [1, 3, H, W] tensor (the model's input size). */
  async preprocess(input: ImageInput): Promise<Tensor> {
    const bytes = typeof input === 'string' ? await readImageFile(input) : input;
    const data = await loadTensor(bytes, this.loading);
    return { data, shape: [1, ...this.backend.inputShape] };
  }

  /** Runs a batch [N, 3, H, W] and returns the top-k classes of each image. */
  async predict(batch: Tensor, top = 3): Promise<Prediction[][]> {
    const scores = await this.backend.forward(batch);
    return split(scores).map((row) => this.labels.topK(row.data, top, this.config.output));
  }

  async classify(input: ImageInput, top = 3): Promise<Prediction[]> {
    return (await this.predict(await this.preprocess(input), top))[0];
  }

  /** Classifies photos in one forward; fails if any photo fails (see preprocess for one at a time). */
  async classifyBatch(inputs: readonly ImageInput[], top = 3): Promise<Prediction[][]> {
    const tensors = await Promise.all(inputs.map((input) => this.preprocess(input)));
    return this.predict(concat(tensors), top);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' }[e.code ?? ''];
    throw new Error(`cannot read ${path}: ${reason ?? e.message}`);
  }
}
