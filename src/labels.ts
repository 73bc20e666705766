import { readFile } from 'node:fs/promises';

/** One class of a top-k answer. */
export interface Prediction {
  label: string;
  /** Class index in the model's output (ImageNet-1k order for the bundled model). */
  index: number;
  /** Softmax probability, 0..1. */
  probability: number;
}

/** Class names in model-output order, one per line of a text file. */
export class Labels {
  constructor(readonly names: readonly string[]) {}

  static async load(path: string): Promise<Labels> {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read labels file ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    const names = text.split(/\r?\n/).map((s) => s.trim());
    while (names.length && !names[names.length - 1]) names.pop();
    if (names.length === 0) throw new Error(`labels file ${path} is empty`);
    return new Labels(names);
  }

  get size(): number {
    return this.names.length;
  }

  /** The k most probable classes of one row of logits, by softmax. */
  topK(logits: Float32Array, k: number): Prediction[] {
    if (logits.length !== this.names.length) {
      throw new RangeError(`the model gives ${logits.length} classes but the labels file names ${this.names.length}`);
    }
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
    return order.slice(0, Math.max(1, Math.min(k, logits.length))).map((index) => ({
      label: this.names[index],
      index,
      probability: Math.exp(logits[index] - max) / sum,
    }));
  }
}
