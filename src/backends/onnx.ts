// ONNX Runtime backend: the same model exported to ONNX, run by onnxruntime-node.
import { access } from 'node:fs/promises';
import { type Backend, type BackendOptions, checkInput } from '../backend.js';
import { availableCpus } from '../cpus.js';
import { packagePath } from '../paths.js';
import type { Tensor } from '../tensor.js';

export const DEFAULT_ONNX_MODEL = packagePath('model', 'mobilenet_v2.onnx');

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

export class OnnxBackend implements Backend {
  readonly name = 'onnx' as const;
  readonly maxBatch = Infinity;
  #session: Session | undefined;

  private constructor(
    private readonly ort: Ort,
    session: Session,
    readonly model: string,
    readonly threads: number,
    readonly optimize: boolean,
  ) {
    this.#session = session;
  }

  static async load(options: BackendOptions = {}): Promise<OnnxBackend> {
    const model = options.model ?? DEFAULT_ONNX_MODEL;
    const optimize = options.optimize ?? true;
    const threads = options.threads ?? availableCpus();
    await access(model).catch(() => {
      throw new Error(`model file not found: ${model}`);
    });
    // Loaded on first use, so LibTorch-only installs and images need no ONNX Runtime.
    const ort = await import('onnxruntime-node').catch((err: Error) => {
      throw new Error(`cannot load onnxruntime-node for --backend onnx: ${err.message.split('\n')[0]}`);
    });
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: optimize ? 'all' : 'disabled',
      executionProviders: ['cpu'],
    }).catch((err: Error) => {
      throw new Error(`cannot load ONNX model '${model}': ${err.message}`);
    });
    const backend = new OnnxBackend(ort, session, model, threads, optimize);
    await backend.forward({ data: new Float32Array(3 * 224 * 224), shape: [1, 3, 224, 224] }); // warm-up
    return backend;
  }

  get runtime(): string {
    return `ONNX Runtime ${this.ort.env.versions.common}`;
  }

  async forward(input: Tensor): Promise<Tensor> {
    checkInput(input);
    const session = this.#session;
    if (!session) throw new Error('the onnx backend is closed');
    const feeds = { [session.inputNames[0]]: new this.ort.Tensor('float32', input.data, [...input.shape]) };
    const output = (await session.run(feeds))[session.outputNames[0]];
    return { data: output.data as Float32Array, shape: output.dims.map(Number) };
  }

  async close(): Promise<void> {
    await this.#session?.release();
    this.#session = undefined;
  }
}
