import type { Tensor } from './tensor.js';

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
}

/** A loaded model that maps an image batch [N, 3, 224, 224] to logits [N, classes]. */
export interface Backend {
  readonly name: BackendName;
  /** The runtime and its version, e.g. "LibTorch 2.13.0". */
  readonly runtime: string;
  readonly model: string;
  readonly threads: number;
  readonly optimize: boolean;
  /** Largest batch one forward accepts (models traced at a fixed batch size accept only that). */
  readonly maxBatch: number;
  /** Forwards that run at once; more calls to forward() wait for a free lane. */
  readonly lanes: number;
  forward(input: Tensor): Promise<Tensor>;
  close(): Promise<void>;
}

export const INPUT_SHAPE = [3, 224, 224] as const;

/** Refuses anything but [N, 3, 224, 224] before it reaches a runtime. */
export function checkInput(input: Tensor): void {
  const [n, ...rest] = input.shape;
  if (input.shape.length !== 4 || rest.some((d, i) => d !== INPUT_SHAPE[i]) || !(n >= 1)) {
    throw new RangeError(`input must have shape [N, ${INPUT_SHAPE.join(', ')}], got [${input.shape.join(', ')}]`);
  }
  if (!(input.data instanceof Float32Array) || input.data.length !== n * 3 * 224 * 224) {
    throw new RangeError(`input of shape [${input.shape.join(', ')}] needs a Float32Array of ${n * 3 * 224 * 224} values`);
  }
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
