import type { ModelConfig } from './model/config.js';
import { concat, split, type Tensor } from './tensor.js';

export type BackendName = 'torchscript' | 'onnx';
export const BACKENDS: readonly BackendName[] = ['torchscript', 'onnx'];

export interface BackendOptions {
  /** Model file; each backend has its own default under model/. */
  model?: string;
  /** Intra-op threads of each forward (LibTorch: process-wide). Default: the CPUs this process may use. */
  threads?: number;
  /** Forwards that may run at once, each on its own thread(s). Default 1. */
  lanes?: number;
  /** Graph optimisation at load (TorchScript: frozen + oneDNN Graph fusion; ONNX Runtime: level "all"). */
  optimize?: boolean;
  /** The model's config (a folder's config.json); absent: the TorchScript file's own, else the defaults. */
  config?: ModelConfig;
}

/** A loaded model that maps an image batch [N, ...inputShape] to logits [N, classes]. */
export interface Backend {
  readonly name: BackendName;
  /** The runtime and its version, e.g. "LibTorch 2.13.0". */
  readonly runtime: string;
  readonly model: string;
  readonly threads: number;
  readonly optimize: boolean;
  /** The preprocessing and serving settings the model runs with. */
  readonly config: ModelConfig;
  /** One image's [3, H, W], from the config's input size. */
  readonly inputShape: readonly [3, number, number];
  /** Width of the output rows, measured at load. */
  readonly classes: number;
  /**
   * Largest batch one forward runs (models traced at a fixed batch size accept only that, a config
   * may set less); larger inputs are run in parts.
   */
  readonly maxBatch: number;
  /** Forwards that run at once; more calls to forward() wait for a free lane. */
  readonly lanes: number;
  forward(input: Tensor): Promise<Tensor>;
  close(): Promise<void>;
}

/** Refuses anything but [N, ...shape] before it reaches a runtime. */
export function checkInput(input: Tensor, shape: readonly number[]): void {
  const [n, ...rest] = input.shape;
  if (input.shape.length !== shape.length + 1 || rest.some((d, i) => d !== shape[i]) || !(n >= 1)) {
    throw new RangeError(`input must have shape [N, ${shape.join(', ')}], got [${input.shape.join(', ')}]`);
  }
  const values = n * shape.reduce((a, b) => a * b, 1);
  if (!(input.data instanceof Float32Array) || input.data.length !== values) {
    throw new RangeError(`input of shape [${input.shape.join(', ')}] needs a Float32Array of ${values} values`);
  }
}

/** Runs `input` in forwards of at most `maxBatch` rows and joins their outputs. */
export async function forwardInParts(input: Tensor, maxBatch: number, forward: (part: Tensor) => Promise<Tensor>): Promise<Tensor> {
  if (input.shape[0] <= maxBatch) return forward(input);
  const rows = split(input);
  const outputs = [];
  for (let i = 0; i < rows.length; i += maxBatch) outputs.push(await forward(concat(rows.slice(i, i + maxBatch))));
  return concat(outputs);
}

/**
 * The warm-up forward, which doubles as a check: the model takes [n, ...shape] and gives rows of
 * class scores [n, classes]. Returns the classes.
 */
export async function probe(model: string, shape: readonly number[], n: number, forward: (input: Tensor) => Promise<Tensor>): Promise<number> {
  const input = { data: new Float32Array(n * shape.reduce((a, b) => a * b, 1)), shape: [n, ...shape] };
  const output = await forward(input).catch((err: Error) => {
    throw new Error(`model ${model} does not take an image batch [N, ${shape.join(', ')}]: ${err.message}`);
  });
  if (output.shape.length !== 2 || output.shape[0] !== n) {
    throw new Error(`model ${model} gives [${output.shape.join(', ')}] for a batch of ${n}; expected [${n}, classes]`);
  }
  return output.shape[1];
}

export async function createBackend(name: BackendName, options: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'torchscript':
      return (await import('./backends/torchscript.js')).TorchScriptBackend.load(options);
    case 'onnx':
      return (await import('./backends/onnx.js')).OnnxBackend.load(options);
    default:
      throw new RangeError(`unknown backend '${name}' (expected one of: ${BACKENDS.join(', ')})`);
  }
}
