import type { Argv } from 'yargs';
import { Classifier } from '../classifier.js';
import { DEFAULT_MAX_BATCH } from '../engine/batcher.js';
import { DecodePool } from '../engine/decode-pool.js';
import { Engine } from '../engine/engine.js';
import { exitAfterOutput } from '../native.js';
import { classifyInputs } from '../predict/classify-inputs.js';
import { format, FORMATS, type FormatName } from '../predict/formats.js';
import { listInputs, STDIN } from '../predict/inputs.js';
import { openOutput } from '../predict/output.js';
import { PredictProgress } from '../predict/progress.js';
import { classifierOptions, engineOptions, engineSettings, modelOptions } from './options.js';

export const command = 'predict [photos..]';
export const describe = 'Print the top-k classes of each photo (ImageNet with the bundled model)';

/**
 * yargs drops a lone "-" from positionals and does not take it as an option's value, so cli.ts
 * passes it as this (no path holds a NUL) and the coercions below turn it back.
 */
export const DASH = '\0-';
const undash = (arg: string) => (arg === DASH ? STDIN : arg);

export function builder(yargs: Argv) {
  return engineOptions(modelOptions(yargs))
    .positional('photos', { type: 'string', array: true, default: [] as string[], describe: `Photo files, folders (walked recursively, photos recognised by content, hidden files skipped) or ${STDIN} for one photo on stdin` })
    .option('files-from', { type: 'string', describe: `Read photo or folder paths from FILE, one per line (${STDIN}: stdin)` })
    .coerce('photos', (photos: string[]) => photos.map(undash))
    .coerce('files-from', undash)
    .option('top', { type: 'number', default: 3, describe: 'How many classes to print per photo' })
    .option('format', { choices: FORMATS, describe: 'table: the photo, then a line per class; jsonl: {file, predictions} or {file, error} per line; csv: a line per photo (default: table)' })
    .option('json', { type: 'boolean', default: false, describe: 'Same as --format jsonl' })
    .option('output', { alias: 'o', type: 'string', describe: 'Write the results to FILE (atomically: complete or not at all) instead of stdout' })
    .option('progress', { type: 'boolean', describe: 'A progress bar with photos/s and ETA on stderr (default: when stderr is a terminal; --no-progress: never)' })
    .check((argv) => {
      const photos = argv.photos as string[];
      const stdinUses = photos.filter((p) => p === STDIN).length + (argv.filesFrom === STDIN ? 1 : 0);
      // A message, not a thrown error: yargs then reports a usage error (exit 2).
      if (photos.length === 0 && argv.filesFrom === undefined) return `Name photos or folders, ${STDIN} for stdin, or --files-from FILE`;
      if (stdinUses > 1) return `stdin can be read once: give ${STDIN} as a photo or as --files-from, not both or twice`;
      if (stdinUses && process.stdin.isTTY) return `stdin is a terminal: pipe into it, e.g. cat photo.jpg | pytorch-infer predict ${STDIN}`;
      if (argv.json && argv.format !== undefined && argv.format !== 'jsonl') return `--json is --format jsonl; it cannot go with --format ${argv.format}`;
      return true;
    })
    .example('$0 predict samples/*.JPEG', 'top-3 of each bundled photo')
    .example('$0 predict --model test/fixtures/models/resnet18-10 cat.jpg', 'with a model folder (model.pt or model.onnx, labels.txt, config.json)')
    .example('$0 predict --decoder sharp --format csv -o photos.csv photos/', 'every photo under photos/, as CSV')
    .example('find . -name "*.jpg" | $0 predict --files-from - --json', 'photos listed on stdin, as JSON lines')
    .example('cat cat.jpg | $0 predict --top 5 -', 'top-5 of a photo piped in');
}

type Args = Awaited<ReturnType<typeof builder>['argv']>;

export async function handler(argv: Args): Promise<void> {
  if (!(Number.isInteger(argv.top) && argv.top >= 1)) throw new Error(`--top must be a positive integer, got ${argv.top}`);
  const formatName: FormatName = argv.json ? 'jsonl' : (argv.format ?? 'table');
  const options = classifierOptions(argv);
  const { threads, lanes, decodeWorkers, decodeTimeoutMs } = engineSettings(options, argv);
  // The folders are walked and the decode workers warm up while the model loads.
  const pool = new DecodePool({ size: decodeWorkers, deadlineMs: decodeTimeoutMs, decoder: argv.decoder });
  const loading = Promise.all([listInputs(argv.photos ?? [], argv.filesFrom), Classifier.create({ ...options, threads, lanes })]);
  const [inputs, classifier] = await loading.catch(async (err: Error) => {
    await pool.close();
    throw err;
  });
  if (inputs.length === 0) {
    await Promise.all([pool.close(), classifier.close()]);
    throw new Error(`--files-from ${argv.filesFrom} lists no paths`);
  }
  // Enough photos in hand to keep every decoder and lane busy, and no more: memory is bounded
  // by this window, however many photos there are.
  const window = 4 * (decodeWorkers + classifier.backend.lanes * DEFAULT_MAX_BATCH);
  const output = openOutput(argv.output);
  // No waiting for a batch to fill: batches grow when decoding runs ahead of the forwards.
  const engine = new Engine(classifier, pool, { maxBatch: DEFAULT_MAX_BATCH, maxDelayMs: 0, maxQueue: window });
  const { header, row } = format(formatName, argv.top);
  const progress = new PredictProgress(inputs.length, argv.progress ?? process.stderr.isTTY === true);
  let failed = 0;
  let complete = false;
  try {
    output.write(header);
    await classifyInputs(engine, inputs, { top: argv.top, window }, (result) => {
      if (result.error !== undefined) failed++;
      output.write(row(result));
      progress.photo(result.error !== undefined);
    });
    complete = true;
  } finally {
    output.close(complete);
    progress.finish();
    await engine.close();
  }
  await exitAfterOutput(failed ? 1 : 0);
}
