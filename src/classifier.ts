import { readFile } from 'node:fs/promises';
import { type Backend, type BackendName, type BackendOptions, createBackend } from './backend.js';
import { type LoadOptions, loadTensor } from './image/index.js';
import { DEFAULT_MAX_PIXELS, type DecoderName } from './image/types.js';
import { Labels, type Prediction } from './labels.js';
import { DEFAULT_LABELS } from './paths.js';
import { concat, split, type Tensor } from './tensor.js';

export interface ClassifierOptions extends BackendOptions {
  backend?: BackendName;
  /** Class names file, one per line in model-output order. */
  labels?: string;
  decoder?: DecoderName;
  /** Images with more pixels are refused before they are decoded. */
  maxPixels?: number;
  /** Decode large JPEGs at full size instead of at PIL's draft() scale (sharp). */
  exactDecode?: boolean;
}

/** A photo as a file path or its encoded bytes (JPEG, PNG, GIF, BMP, TIFF, WebP…). */
export type ImageInput = string | Uint8Array;

/** Photos in, top-k ImageNet classes out: decoding, preprocessing, inference and labels. */
export class Classifier {
  private constructor(
    readonly backend: Backend,
    readonly labels: Labels,
    /** How photos become tensors: the decoder and its options. */
    readonly loading: Required<LoadOptions>,
  ) {}

  get decoder(): DecoderName {
    return this.loading.decoder;
  }

  static async create(options: ClassifierOptions = {}): Promise<Classifier> {
    const labels = await Labels.load(options.labels ?? DEFAULT_LABELS);
    const backend = await createBackend(options.backend ?? 'torchscript', options);
    const { decoder = 'jimp', maxPixels = DEFAULT_MAX_PIXELS, exactDecode = false } = options;
    return new Classifier(backend, labels, { decoder, maxPixels, exactDecode });
  }

  /** Reads, decodes and preprocesses one photo into a [1, 3, 224, 224] tensor. */
  async preprocess(input: ImageInput): Promise<Tensor> {
    const bytes = typeof input === 'string' ? await readImageFile(input) : input;
    const data = await loadTensor(bytes, this.loading);
    return { data, shape: [1, 3, 224, 224] };
  }

  /** Runs a batch [N, 3, 224, 224] and returns the top-k classes of each image. */
  async predict(batch: Tensor, top = 3): Promise<Prediction[][]> {
    const logits = await this.backend.forward(batch);
    return split(logits).map((row) => this.labels.topK(row.data, top));
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
