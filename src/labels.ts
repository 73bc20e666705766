import { readFile } from 'node:fs/promises';
import type { ModelOutput } from './model/config.js';

/** One class of a top-k answer. */
export interface Prediction {
  label: string;
  /** Class index in the model's output (ImageNet-1k order for the bundled model). */
  index: number;
  /** 0..1: the softmax of the logits, or the model's own output when it gives probabilities. */
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

  /** The k most probable classes of one output row: logits (by softmax) or probabilities as they are. */
  topK(scores: Float32Array, k: number, output: ModelOutput = 'logits'): Prediction[] {
    if (scores.length !== this.names.length) {
      throw new RangeError(`the model gives ${scores.length} classes but the labels file names ${this.names.length}`);
    }
    // Only the k answers need their probability: no 1000-long softmax row per photo.
    const { max, sum } = output === 'logits' ? softmaxScale(scores) : { max: 0, sum: 1 };
    return best(scores, Math.max(1, Math.min(k, scores.length))).map((index) => ({
      label: this.names[index],
      index,
      probability: output === 'logits' ? Math.exp(scores[index] - max) / sum : scores[index],
    }));
  }
}

/** A model's output row as probabilities: the softmax of logits, or the row itself when the model gives probabilities. */
export function probabilitiesOf(scores: Float32Array, output: ModelOutput): Float32Array | Float64Array {
  if (output === 'probabilities') return scores;
  const { max, sum } = softmaxScale(scores);
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = Math.exp(scores[i] - max) / sum;
  return out;
}

/** softmax(v)[i] = exp(v[i] - max) / sum: the largest logit and the sum of exp(v - max), in double. */
function softmaxScale(scores: Float32Array): { max: number; sum: number } {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i] - max);
  return { max, sum };
}

/**
 * Indices of the k largest values, largest first (ties: lower index first, as a stable sort).
 * Insertion into a k-long list: sorting all 1000 indices per photo was 4 % of the service's
 * main-thread time.
 */
function best(values: Float32Array, k: number): number[] {
  if (k * 16 > values.length) return Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
  const top: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (top.length === k && v <= values[top[k - 1]]) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && values[top[at - 1]] < v) {
      top[at] = top[at - 1];
      at--;
    }
    top[at] = i;
  }
  return top;
}

