// The model configurations a benchmark compares: a backend, its model file and its load options.
import type { BackendName, BackendOptions } from '../backend.js';
import { packagePath } from '../paths.js';

export interface Engine {
  /** Name in results. */
  readonly id: string;
  readonly label: string;
  readonly backend: BackendName;
  /** Model file; the backend's default when absent. */
  readonly model?: string;
  readonly optimize: boolean;
}

export const ENGINES: readonly Engine[] = [
  { id: 'torchscript', label: 'TorchScript float, optimised', backend: 'torchscript', optimize: true },
  { id: 'torchscript-noopt', label: 'TorchScript float, not optimised', backend: 'torchscript', optimize: false },
  {
    id: 'torchscript-int8',
    label: 'TorchScript int8',
    backend: 'torchscript',
    model: packagePath('model', 'mobilenet_v2_quantized_scripted.pt'),
    optimize: true,
  },
  { id: 'onnx', label: 'ONNX Runtime', backend: 'onnx', optimize: true },
];

export const ENGINE_IDS = ENGINES.map((e) => e.id);

export function findEngine(id: string): Engine {
  const engine = ENGINES.find((e) => e.id === id);
  if (!engine) throw new RangeError(`unknown engine '${id}' (expected one of: ${ENGINE_IDS.join(', ')})`);
  return engine;
}

export function backendOptions(engine: Engine, threads: number): BackendOptions {
  return { model: engine.model, optimize: engine.optimize, threads };
}

/** The `pytorch-infer predict` flags that load the same model the same way. */
export function cliFlags(engine: Engine): string[] {
  return [
    '--backend', engine.backend,
    ...(engine.model ? ['--model', engine.model] : []),
    ...(engine.optimize ? [] : ['--no-optimize']),
  ];
}
