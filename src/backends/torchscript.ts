// LibTorch backend: TorchScript files run unchanged by the native addon.
import { access } from 'node:fs/promises';
import { type Backend, type BackendOptions, checkInput, forwardInParts, probe } from '../backend.js';
import { availableCpus } from '../cpus.js';
import { DEFAULT_CONFIG, inputShape, type ModelConfig, parseConfig } from '../model/config.js';
import { type LoadOptions, type NativeModule, native } from '../native.js';
import { DEFAULT_MODEL } from '../paths.js';
import type { Tensor } from '../tensor.js';

/** LibTorch-only load settings (see NativeAddon.load); the defaults are the measured best. */
export type TorchLoadOptions = Omit<LoadOptions, 'optimize'>;

export class TorchScriptBackend implements Backend {
  readonly name = 'torchscript' as const;
  readonly runtime = `LibTorch ${native().libtorchVersion}`;
  readonly inputShape: readonly [3, number, number];
  #module: NativeModule | undefined;

  private constructor(
    module: NativeModule,
    readonly model: string,
    readonly threads: number,
    readonly optimize: boolean,
    readonly config: ModelConfig,
    readonly classes: number,
    readonly maxBatch: number,
    /**
     * Forwards that run at once, each on an inference thread of the addon's own (`lanes`, or
     * `torch.lanes`; default 1). Alone, two 1-thread lanes cost the CPU per image of one 2-thread
     * forward (bench/results/libtorch-options.md, group D); beside decode workers they keep both
     * cores busy, where a 2-thread forward waits for a preempted thread of its team.
     */
    readonly lanes: number,
  ) {
    this.#module = module;
    this.inputShape = inputShape(config);
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
    const lanes = options.torch?.lanes ?? options.lanes ?? 1;
    const module = await addon.load(model, { ...options.torch, optimize, lanes });
    try {
      // A config given (a folder's config.json) wins over the one the file carries.
      const config = options.config ?? (module.config === undefined ? DEFAULT_CONFIG : parseConfig(module.config, `${model} (extra file config.json)`));
      const shape = inputShape(config);
      const forward = (input: Tensor) => module.forward(input.data, input.shape);
      // Warm-up doubles as a probe: a model traced at batch 1 (like torchvision's quantized
      // mobile artifact) fails on batch 2 and is then run one image at a time.
      let maxBatch = config.maxBatch ?? Infinity;
      const classes = await probe(model, shape, Math.min(2, maxBatch), forward).catch(() => {
        maxBatch = 1;
        return probe(model, shape, 1, forward);
      });
      return new TorchScriptBackend(module, model, threads, optimize, config, classes, maxBatch, lanes);
    } catch (err) {
      module.close();
      throw err;
    }
  }

  async forward(input: Tensor): Promise<Tensor> {
    checkInput(input, this.inputShape);
    const module = this.#module;
    if (!module) throw new Error('the torchscript backend is closed');
    return forwardInParts(input, this.maxBatch, (part) => module.forward(part.data, part.shape));
  }

  async close(): Promise<void> {
    this.#module?.close();
    this.#module = undefined;
  }
}
