import { access, constants, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { BACKENDS, type BackendName } from '../backend.js';
import { ENGINES } from '../bench/engines.js';
import { Progress } from '../bench/progress.js';
import { findPython } from '../bench/python.js';
import { batchPlot, markdown } from '../bench/report.js';
import { countSteps, runBenchmark } from '../bench/run.js';
import { availableCpus } from '../cpus.js';
import { DECODER_NAMES, type DecoderName } from '../image/types.js';
import { packagePath } from '../paths.js';

export const command = 'bench [photos..]';
export const describe = 'Measure every backend side by side: load, cold start, ms/img by batch and threads, end to end, peak RSS';

export function builder(yargs: Argv) {
  return yargs
    .env('PYTORCH_INFER')
    .positional('photos', { type: 'string', array: true, describe: 'Photos for the end-to-end rows (default: the bundled samples/)' })
    .option('backend', { choices: BACKENDS, array: true, default: [...BACKENDS] as BackendName[], describe: 'Backends to measure (TorchScript: float optimised and not, and int8)' })
    .option('decoder', { choices: DECODER_NAMES, array: true, default: [...DECODER_NAMES] as DecoderName[], describe: 'Decoders for the end-to-end rows' })
    .option('threads', { type: 'number', array: true, describe: 'Intra-op thread counts for the inference rows (default: 1 and the CPUs available)' })
    .option('batch', { type: 'number', array: true, default: [1, 8, 32], describe: 'Batch sizes for the inference rows' })
    .option('iterations', { type: 'number', default: 20, describe: 'Timed forwards per inference row' })
    .option('rounds', { type: 'number', default: 3, describe: 'Timed passes over the photos per end-to-end row' })
    .option('cold-starts', { type: 'number', default: 3, describe: 'New processes per engine for the cold-start figure (median)' })
    .option('python', { type: 'string', describe: 'Python with torch for the baseline row (default: $PYTHON, .venv-export, python3 — the first that imports torch)' })
    .option('baseline', { type: 'boolean', default: true, describe: 'Add the Python (PIL + TorchScript) baseline row when such a Python is found (--no-baseline to skip)' })
    .option('out', { type: 'string', default: join('bench', 'results'), describe: 'Folder for <date>.md, <date>.json and <date>-batch.svg' })
    .example('$0 bench', 'the full table (a few minutes)')
    .example('$0 bench --backend onnx --decoder sharp --batch 1 8 --iterations 10', 'a quick look at one backend');
}

type Args = Awaited<ReturnType<typeof builder>['argv']>;

export async function handler(argv: Args): Promise<void> {
  const counts = { iterations: argv.iterations, rounds: argv.rounds, 'cold-starts': argv.coldStarts };
  for (const [flag, values] of Object.entries({ ...counts, threads: argv.threads ?? [], batch: argv.batch })) {
    for (const v of [values].flat()) if (!(Number.isInteger(v) && v >= 1)) throw new Error(`--${flag} must be positive integers, got ${v}`);
  }
  const photos = argv.photos?.length ? (argv.photos as string[]) : await bundledPhotos();
  // Refused before minutes of measuring, not in the middle of them.
  for (const photo of photos) await access(photo, constants.R_OK).catch(() => Promise.reject(new Error(`cannot read photo ${photo}`)));
  const options = {
    engines: ENGINES.filter((e) => argv.backend.includes(e.backend)),
    decoders: argv.decoder,
    threads: unique(argv.threads ?? [1, availableCpus()]),
    batches: unique(argv.batch),
    iterations: argv.iterations,
    rounds: argv.rounds,
    coldStarts: argv.coldStarts,
    photos,
    python: argv.baseline ? await findPython(argv.python) : undefined,
  };
  if (argv.baseline && !options.python) console.error('no Python that imports torch found: no baseline row (see --python)');

  const progress = new Progress(countSteps(options));
  const report = await runBenchmark(options, progress);
  progress.finish();

  const stamp = report.date.slice(0, 10);
  await mkdir(argv.out, { recursive: true });
  const table = markdown(report, `${stamp}-batch.svg`);
  await writeFile(join(argv.out, `${stamp}.md`), table);
  await writeFile(join(argv.out, `${stamp}-batch.svg`), batchPlot(report));
  await writeFile(join(argv.out, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  console.log(table);
  console.error(`wrote ${join(argv.out, `${stamp}.md`)}, ${stamp}.json and ${stamp}-batch.svg`);
}

async function bundledPhotos(): Promise<string[]> {
  const dir = packagePath('samples');
  return (await readdir(dir)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => join(dir, f));
}

function unique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}
