// Typed view of the native addon (pytorch_infer.node), and how addons are found.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packagePath } from './paths.js';

export interface NativeModule {
  /** The file's extra file config.json (torch.jit.save's _extra_files), when it carries one. */
  readonly config?: string;
  forward(data: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; shape: number[] }>;
  close(): void;
}

/** What load() does to the module before it runs (native/torch_module.h, GraphMode). */
export type GraphMode = 'plain' | 'frozen' | 'mkldnn' | 'fused';
export const GRAPH_MODES: readonly GraphMode[] = ['plain', 'frozen', 'mkldnn', 'fused'];

export interface LoadOptions {
  /** false: mode 'plain'. Default true. */
  optimize?: boolean;
  /** Default 'fused' (frozen + oneDNN Graph fusion, one executor per input shape). */
  mode?: GraphMode;
  /** Weights and inputs in channels_last memory format. Default false. */
  channelsLast?: boolean;
  /** NoGradGuard instead of InferenceMode around forward. Default false. */
  noGrad?: boolean;
  /** torch::jit::setGraphExecutorOptimize during forward. Default true. */
  executorOptimize?: boolean;
  /** Forwards that may run at once, each on an inference thread of its own (1–16). Default 1. */
  lanes?: number;
}

export interface NativeAddon {
  /** `optimize` as a boolean: true is the default options, false is mode 'plain'. */
  load(path: string, options?: boolean | LoadOptions): Promise<NativeModule>;
  /** Process-wide TorchScript executor settings, for benchmarks; before the first forward. */
  configureJit(options: { profilingExecutor?: boolean; tensorExprFuser?: boolean }): void;
  setNumThreads(n: number): void;
  numThreads(): number;
  /** Ends the process with `code` at once, skipping LibTorch's static destructors (~0.1 s). */
  exitNow(code: number): never;
  readonly libtorchVersion: string;
}

const REBUILD = '`npm rebuild pytorch-infer` (in its own checkout: `node scripts/build-native.mjs`)';

/**
 * Loads the addon `<name>.node` the way node-gyp-build does: a local build (build/Release/) before
 * the one shipped prebuilt for this platform (prebuilds/<platform>-<arch>/, scripts/build-native.mjs).
 */
export function loadAddon<T>(name: string): T {
  const candidates = [packagePath('build', 'Release', `${name}.node`), packagePath('prebuilds', `${process.platform}-${process.arch}`, `${name}.node`)];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    throw new Error(`no native addon ${name}.node for ${process.platform}-${process.arch} (looked for ${candidates.join(', ')}): build it with ${REBUILD}`);
  }
  try {
    return createRequire(import.meta.url)(file) as T;
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    const hint = existsSync(packagePath('libtorch'))
      ? `rebuild it with ${REBUILD}`
      : 'LibTorch was not found when pytorch-infer was installed: give it with LIBTORCH=/path/to/libtorch, a torch CPU wheel in ' +
        `pip's find-links, or network access to download.pytorch.org, then run ${REBUILD}`;
    throw new Error(`cannot load the native addon ${file}: ${first}\n${hint}`);
  }
}

let addon: NativeAddon | undefined;

/** The LibTorch addon, loaded on first use, so the ONNX backend and the image tools work without LibTorch. */
export function native(): NativeAddon {
  // LibTorch's OpenMP (libgomp) reads this when the addon loads it. By default its threads spin
  // after every parallel region; with more threads than free cores (other processes, or this
  // process's decode workers) a forward then waits on a spinning thread's time slice. Measured
  // here with the machine shared (2 cores, load average ~13), fused model, 2 threads, batch 1:
  // 240–480 ms per forward (75–170 ms CPU) by default, 8.6–11 ms (8.7 ms CPU) passive; in
  // bench/results/libtorch-options.md (two runs) 113–115 vs 8.9–9.0 CPU ms per forward
  // (GOMP_SPINCOUNT=1000: 12.0–13.4). On one thread there is no team to wait. A value the user set wins.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.OMP_WAIT_POLICY = 'passive';
  addon ??= (() => {
    try {
      return loadAddon<NativeAddon>('pytorch_infer');
    } catch (err) {
      throw new Error(`${(err as Error).message}\nOr use --backend onnx, which needs no LibTorch.`);
    }
  })();
  return addon;
}

/**
 * Exits with `code` once stdout and stderr are flushed (a pipe's reader may be slow); when LibTorch
 * is loaded, without its ~0.1 s of static destructors. For a command that has written its output
 * and closed what it opened.
 */
export async function exitAfterOutput(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  if (addon) addon.exitNow(code);
  process.exit(code);
}
