// LibTorch backend: TorchScript files run unchanged by the native addon.
import { access } from 'node:fs/promises';
import { type Backend, type BackendOptions, checkInput, INPUT_SHAPE } from '../backend.js';
import { availableCpus } from '../cpus.js';
import { type LoadOptions, type NativeModule, native } from '../native.js';
import { DEFAULT_MODEL } from '../paths.js';
import { concat, split, type Tensor } from '../tensor.js';

/** LibTorch-only load settings (see NativeAddon.load); the defaults are the measured best. */
export type TorchLoadOptions = Omit<LoadOptions, 'optimize'>;

export class TorchScriptBackend implements Backend {
  readonly name = 'torchscript' as const;
  readonly runtime = `LibTorch ${native().libtorchVersion}`;
  #module: NativeModule | undefined;

  private constructor(
    module: NativeModule,
    readonly model: string,
    readonly threads: number,
    readonly optimize: boolean,
    readonly maxBatch: number,
    /**
     * Forwards that run at once, each on an inference thread of the addon's own: `torch.lanes`,
     * default 1 (BackendOptions.lanes is not taken: two 1-thread lanes cost the same CPU per
     * image as one 2-thread forward, bench/results/libtorch-options.md, group D).
     */
    readonly lanes: number,
  ) {
    this.#module = module;
  }

  static async load(options: BackendOptions & { torch?: TorchLoadOptions } = {}): Promise<TorchScriptBackend> {
    const model = options.model ?? DEFAULT_MODEL;
    const optimize = options.optimize ?? true;
    const threads = options.threads ?? availableCpus();
    await access(model).catch(() => {
      throw new Error(`model file not found: ${model}`);
    });
    const addon = native();
    addon.setNumThreads(threads);
    const module = await addon.load(model, { ...options.torch, optimize });
    // Warm-up doubles as a probe: a model traced at batch 1 (like torchvision's
    // quantized mobile artifact) fails on batch 2 and is then run one image at a time.
    const probe = (n: number) => module.forward(new Float32Array(n * 3 * 224 * 224), [n, ...INPUT_SHAPE]);
    let maxBatch = Infinity;
    await probe(2).catch(async () => {
      maxBatch = 1;
      await probe(1).catch((err: Error) => {
        module.close();
        throw new Error(`model ${model} does not take an image batch [N, ${INPUT_SHAPE.join(', ')}]: ${err.message}`);
      });
    });
    return new TorchScriptBackend(module, model, threads, optimize, maxBatch, options.torch?.lanes ?? 1);
  }

  async forward(input: Tensor): Promise<Tensor> {
    checkInput(input);
    const module = this.#module;
    if (!module) throw new Error('the torchscript backend is closed');
    if (input.shape[0] > this.maxBatch) {
      const outputs = [];
      for (const row of split(input)) outputs.push(await this.forward(row));
      return concat(outputs);
    }
    return module.forward(input.data, input.shape);
  }

  async close(): Promise<void> {
    this.#module?.close();
    this.#module = undefined;
  }
}
