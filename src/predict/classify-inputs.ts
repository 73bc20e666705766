// The photos of a predict job through the service's engine: read on the main thread, decoded in
// its worker pool, batched into the backend's lanes; answered in input order.
import type { Engine } from '../engine/engine.js';
import type { Row } from './formats.js';
import { type Input, readInput } from './inputs.js';

/**
 * Classifies every input and hands each row to `emit` in input order. At most `window` photos
 * are in hand at once (read, decoding, waiting for a forward, or answered but waiting for an
 * earlier one), so memory stays the same for 100 or 100 000 photos. The engine must admit as
 * many (its maxQueue).
 */
export async function classifyInputs(
  engine: Engine,
  inputs: readonly Input[],
  options: { top: number; window: number },
  emit: (row: Row) => void,
): Promise<void> {
  const inHand: Promise<Row>[] = [];
  for (const input of inputs) {
    inHand.push(classifyInput(engine, input, options.top));
    if (inHand.length >= options.window) emit(await inHand.shift()!);
  }
  for (const row of inHand) emit(await row);
}

/** Never rejects: a photo's failure is its row. */
async function classifyInput(engine: Engine, input: Input, top: number): Promise<Row> {
  try {
    const { logits } = await engine.classify([await readInput(input)]);
    return { file: input.name, predictions: engine.classifier.labels.topK(logits[0], top, engine.classifier.config.output) };
  } catch (err) {
    return { file: input.name, error: (err as Error).message };
  }
}
