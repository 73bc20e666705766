import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Argv } from 'yargs';
import { Classifier } from '../classifier.js';
import { jpegLibrary } from '../image/index.js';
import { classifierOptions, modelOptions } from './options.js';

export const command = 'info';
export const describe = 'Print the runtime version, model file and sha256, input shape, labels, threads and what decodes JPEG';

export function builder(yargs: Argv) {
  return modelOptions(yargs).option('json', { type: 'boolean', default: false, describe: 'Print as JSON' });
}

type Args = Awaited<ReturnType<typeof builder>['argv']>;

export async function handler(argv: Args): Promise<void> {
  const classifier = await Classifier.create(classifierOptions(argv));
  const { backend } = classifier;
  const info = {
    backend: backend.name,
    runtime: backend.runtime,
    model: backend.model,
    sha256: await sha256(backend.model),
    optimize: backend.optimize,
    input: `[N, ${backend.inputShape.join(', ')}]`,
    maxBatch: Number.isFinite(backend.maxBatch) ? backend.maxBatch : 'any',
    threads: backend.threads,
    labels: classifier.labels.size,
    decoder: classifier.decoder,
    jpeg: jpegLibrary(classifier.decoder),
    node: process.version,
  };
  await classifier.close();
  if (argv.json) console.log(JSON.stringify(info));
  else for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(9)} ${v}`);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}
