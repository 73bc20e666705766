import type { Argv } from 'yargs';
import { Classifier } from '../classifier.js';
import type { Prediction } from '../labels.js';
import { classifierOptions, modelOptions } from './options.js';

export const command = 'predict <photos..>';
export const describe = 'Print the top-k classes of each photo (ImageNet with the bundled model)';

export function builder(yargs: Argv) {
  return modelOptions(yargs)
    .positional('photos', { type: 'string', array: true, demandOption: true, describe: 'Photo files' })
    .option('top', { type: 'number', default: 3, describe: 'How many classes to print per photo' })
    .option('json', { type: 'boolean', default: false, describe: 'One JSON object per line: {file, predictions} or {file, error}' })
    .example('$0 predict samples/*.JPEG', 'top-3 of each bundled photo')
    .example('$0 predict --json --top 5 cat.jpg', 'top-5 of cat.jpg as a JSON line')
    .example('$0 predict --model test/fixtures/models/resnet18-10 cat.jpg', 'with a model folder (model.pt or model.onnx, labels.txt, config.json)');
}

type Args = Awaited<ReturnType<typeof builder>['argv']>;

export async function handler(argv: Args): Promise<void> {
  if (!(Number.isInteger(argv.top) && argv.top >= 1)) throw new Error(`--top must be a positive integer, got ${argv.top}`);
  const classifier = await Classifier.create(classifierOptions(argv));
  let failed = 0;
  try {
    // One photo at a time: a bad photo costs only its own line, and memory stays flat for long lists.
    for (const file of argv.photos as string[]) {
      try {
        report(file, await classifier.classify(file, argv.top), argv.json);
      } catch (err) {
        failed++;
        const error = (err as Error).message;
        if (argv.json) console.log(JSON.stringify({ file, error }));
        else console.error(`${file}: error: ${error}`);
      }
    }
  } finally {
    await classifier.close();
  }
  if (failed) process.exitCode = 1;
}

function report(file: string, predictions: Prediction[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify({ file, predictions }));
    return;
  }
  console.log(file);
  const width = Math.max(...predictions.map((p) => p.label.length));
  for (const p of predictions) console.log(`  ${p.label.padEnd(width)}  ${(p.probability * 100).toFixed(1).padStart(5)}%`);
}
