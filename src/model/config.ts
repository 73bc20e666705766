// A model's preprocessing and serving settings: config.json in a model folder, or the same JSON
// carried inside a TorchScript file. Every field has a default here, today's MobileNetV2 recipe,
// so a folder with only the model and its labels behaves as a bare model file always did.

export type Interpolation = 'bilinear' | 'bicubic';
const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'bicubic'];

/** What the model's output rows are: raw scores (softmax gives probabilities) or probabilities already. */
export type ModelOutput = 'logits' | 'probabilities';
const MODEL_OUTPUTS: readonly ModelOutput[] = ['logits', 'probabilities'];

/** A height and width, in that order (as torchvision's transforms take them). */
export type Size = readonly [height: number, width: number];

/**
 * The first step of torchvision's Resize: `Resize(N)` scales the shorter side to N and keeps the
 * aspect ratio; `Resize((H, W))` scales to exactly H × W, aspect ignored ("squash").
 */
export type Resize = { readonly mode: 'shorter-side'; readonly size: number } | { readonly mode: 'squash'; readonly size: Size };

/** How a photo becomes the model's input: Resize → CenterCrop(inputSize) → ToTensor → Normalize(mean, std). */
export interface Preprocessing {
  /** The input tensor's height and width: the centre crop (a no-op after a squash to this size). */
  readonly inputSize: Size;
  readonly resize: Resize;
  /** PIL's antialiased filters: bilinear (triangle, support 1) or bicubic (a = -0.5, support 2). */
  readonly interpolation: Interpolation;
  /** Per RGB channel, applied to values in 0..1. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export interface ModelConfig {
  /** Reported with every answer, e.g. "1". */
  readonly version: string;
  /** Largest batch per forward; absent: whatever the model accepts. */
  readonly maxBatch?: number;
  readonly output: ModelOutput;
  readonly preprocessing: Preprocessing;
}

export const DEFAULT_PREPROCESSING = {
  inputSize: [224, 224],
  resize: { mode: 'shorter-side', size: 256 },
  interpolation: 'bilinear',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
} as const satisfies Preprocessing;

export const DEFAULT_CONFIG: ModelConfig = { version: '1', output: 'logits', preprocessing: DEFAULT_PREPROCESSING };

/** Sides beyond this are a mistake, not a model: one 4096² input is 200 MB of float32. */
const MAX_SIDE = 4096;

/** The [channels, height, width] of one image the model takes. */
export function inputShape(config: ModelConfig): readonly [3, number, number] {
  return [3, ...config.preprocessing.inputSize];
}

/**
 * Parses and checks config.json. `source` names the file in errors, which also name the field:
 * `model.pt (extra file config.json): preprocessing.mean must be 3 numbers, got [0.5]`.
 */
export function parseConfig(text: string, source: string): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  const fail = (field: string, problem: string): never => {
    throw new Error(`${source}: ${field} ${problem}`);
  };
  const top = object(json, 'the top level', fail);
  known(top, ['version', 'max_batch', 'output', 'preprocessing'], '', fail);
  const p = top.preprocessing === undefined ? {} : object(top.preprocessing, 'preprocessing', fail);
  known(p, ['input_size', 'resize', 'interpolation', 'mean', 'std'], 'preprocessing.', fail);
  const d: Preprocessing = DEFAULT_PREPROCESSING;

  const inputSize = p.input_size === undefined ? d.inputSize : size(p.input_size, 'preprocessing.input_size', fail);
  let resize: Resize = d.resize;
  if (typeof p.resize === 'number') resize = { mode: 'shorter-side', size: side(p.resize, 'preprocessing.resize', fail) };
  else if (Array.isArray(p.resize)) resize = { mode: 'squash', size: size(p.resize, 'preprocessing.resize', fail) };
  else if (p.resize !== undefined) fail('preprocessing.resize', `must be a side N (shorter side to N) or [height, width] (squash), got ${show(p.resize)}`);
  // A crop larger than every resized photo would only ever be black padding.
  const smallest: Size = resize.mode === 'squash' ? resize.size : [resize.size, resize.size];
  if (resize.mode === 'squash' ? smallest[0] < inputSize[0] || smallest[1] < inputSize[1] : resize.size < Math.min(...inputSize)) {
    fail('preprocessing.resize', `${show(p.resize ?? resize.size)} is smaller than the input_size ${show(inputSize)} it is cropped to`);
  }

  return {
    version: top.version === undefined ? DEFAULT_CONFIG.version : string(top.version, 'version', fail),
    ...(top.max_batch === undefined ? {} : { maxBatch: positiveInteger(top.max_batch, 'max_batch', fail) }),
    output: top.output === undefined ? DEFAULT_CONFIG.output : choice(top.output, MODEL_OUTPUTS, 'output', fail),
    preprocessing: {
      inputSize,
      resize,
      interpolation: p.interpolation === undefined ? d.interpolation : choice(p.interpolation, INTERPOLATIONS, 'preprocessing.interpolation', fail),
      mean: p.mean === undefined ? d.mean : triple(p.mean, 'preprocessing.mean', (v) => Number.isFinite(v), 'numbers', fail),
      std: p.std === undefined ? d.std : triple(p.std, 'preprocessing.std', (v) => Number.isFinite(v) && v > 0, 'positive numbers', fail),
    },
  };
}

type Fail = (field: string, problem: string) => never;

const show = (v: unknown) => JSON.stringify(v);

function object(v: unknown, field: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, `must be an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}

function known(o: Record<string, unknown>, keys: readonly string[], prefix: string, fail: Fail): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) fail(`${prefix}${key}`, `is not a known field (known${prefix ? ` in ${prefix.slice(0, -1)}` : ''}: ${keys.join(', ')})`);
  }
}

function string(v: unknown, field: string, fail: Fail): string {
  if (typeof v !== 'string' || v === '') fail(field, `must be a non-empty string, got ${show(v)}`);
  return v as string;
}

function positiveInteger(v: unknown, field: string, fail: Fail): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) fail(field, `must be a positive integer, got ${show(v)}`);
  return v as number;
}

function side(v: unknown, field: string, fail: Fail): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_SIDE)) fail(field, `must be an integer from 1 to ${MAX_SIDE}, got ${show(v)}`);
  return v as number;
}

function size(v: unknown, field: string, fail: Fail): Size {
  if (!Array.isArray(v) || v.length !== 2) fail(field, `must be [height, width], got ${show(v)}`);
  const [h, w] = v as unknown[];
  return [side(h, `${field}[0]`, fail), side(w, `${field}[1]`, fail)];
}

function choice<T extends string>(v: unknown, choices: readonly T[], field: string, fail: Fail): T {
  if (!choices.includes(v as T)) fail(field, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${show(v)}`);
  return v as T;
}

function triple(v: unknown, field: string, ok: (v: number) => boolean, what: string, fail: Fail): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && ok(x))) {
    fail(field, `must be 3 ${what} (R, G, B), got ${show(v)}`);
  }
  return v as [number, number, number];
}
