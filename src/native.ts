// Typed view of the native addon (build/Release/pytorch_infer.node).
import { createRequire } from 'node:module';
import { packagePath } from './paths.js';

export interface NativeModule {
  forward(data: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; shape: number[] }>;
  close(): void;
}

export interface NativeAddon {
  load(path: string, optimize: boolean): Promise<NativeModule>;
  setNumThreads(n: number): void;
  numThreads(): number;
  readonly libtorchVersion: string;
}

let addon: NativeAddon | undefined;

/** Loads the addon on first use, so the ONNX backend and the image tools work without LibTorch. */
export function native(): NativeAddon {
  if (addon) return addon;
  const file = packagePath('build', 'Release', 'pytorch_infer.node');
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    throw new Error(
      `cannot load the native LibTorch addon ${file}: ${(err as Error).message.split('\n')[0]}\n` +
        'Build it with `npm install` (or `node scripts/build-native.mjs`), or use --backend onnx.',
    );
  }
  return addon;
}
