// Options shared by every command that runs the model, so predict, serve and bench agree.
import type { Argv } from 'yargs';
import { BACKENDS, type BackendName } from '../backend.js';
import type { ClassifierOptions } from '../classifier.js';
import { availableCpus } from '../cpus.js';
import { DEFAULT_DECODE_DEADLINE_MS } from '../engine/decode-pool.js';
import { DECODER_NAMES, DEFAULT_DECODER, DEFAULT_MAX_PIXELS, type DecoderName } from '../image/types.js';

export function modelOptions<T>(yargs: Argv<T>) {
  return yargs
    .env('PYTORCH_INFER') // every flag also as PYTORCH_INFER_<FLAG>, e.g. PYTORCH_INFER_BACKEND=onnx
    .option('backend', { choices: BACKENDS, describe: 'Inference runtime (default: torchscript; for a model folder, the model file it has, model.pt first); onnx needs the optional peer dependency onnxruntime-node' })
    .option('model', {
      type: 'string',
      describe: 'Model folder (model.pt or model.onnx, labels.txt, optional config.json) or model file ' +
        '(default: model/traced_model.pt, or model/mobilenet_v2.onnx with --backend onnx)',
    })
    .option('labels', { type: 'string', describe: 'Class names of a model file, one per line (default: model/class_names.txt; a folder has its labels.txt)' })
    .option('decoder', { choices: DECODER_NAMES, default: DEFAULT_DECODER, describe: 'Image decoder' })
    .option('threads', { type: 'number', describe: 'Intra-op threads (default: CPUs available to this process)' })
    .option('optimize', { type: 'boolean', default: true, describe: 'Graph optimisation at load (--no-optimize to turn off)' })
    .option('max-pixels', { type: 'number', describe: `Refuse images with more pixels, before decoding (default: what the decoder decodes in time: ${Object.entries(DEFAULT_MAX_PIXELS).map(([d, n]) => `${n / 1e6} MP with ${d}`).join(', ')})` })
    .option('exact-decode', { type: 'boolean', default: false, describe: 'Decode large JPEGs at full size (sharp: by default at the reduced scale PIL\'s draft() picks, ~10× faster)' });
}

export function classifierOptions(argv: {
  backend?: BackendName; model?: string; labels?: string; decoder: DecoderName; threads?: number; optimize: boolean; maxPixels?: number; exactDecode: boolean;
}): ClassifierOptions {
  if (argv.threads !== undefined && !(Number.isInteger(argv.threads) && argv.threads >= 1)) {
    throw new Error(`--threads must be a positive integer, got ${argv.threads}`);
  }
  const { backend, model, labels, decoder, threads, optimize, maxPixels, exactDecode } = argv;
  return { backend, model, labels, decoder, threads, optimize, maxPixels, exactDecode };
}

/**
 * How serve and predict split the work. Every stage gets as many threads as the CPUs this process
 * may use (cgroup quota): decoder workers, and intra-op threads over the lanes, so no stage idles
 * while another has work: the scheduler, not a fixed split, gives each the cores it needs. ONNX
 * Runtime runs a one-thread session per lane (the most images per CPU-second), and so does LibTorch
 * (two one-thread lanes beat one two-thread forward beside the decode workers, README; its OpenMP
 * threads wait passively between forwards, src/native.ts).
 */
export function engineOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('threads', { type: 'number', describe: 'Intra-op threads of each forward (default: the CPUs available ÷ lanes)' })
    .option('lanes', { type: 'number', describe: 'Forwards at once, each on its own thread(s) (default: the CPUs available)' })
    .option('decode-workers', { type: 'number', describe: 'Decoder worker threads (default: the CPUs available; serve --model-repository: of each model, the CPUs over the folders, at least 1)' })
    .option('decode-timeout-ms', { type: 'number', default: DEFAULT_DECODE_DEADLINE_MS, describe: 'Stop decoding a photo after this long (its decoder worker is replaced) and refuse it: 422 in serve, an error row in predict' });
}

export interface EngineSettings {
  threads: number;
  lanes: number;
  decodeWorkers: number;
  decodeTimeoutMs: number;
}

/**
 * Threads, lanes and decoder workers, each given or derived from the CPUs this process may use:
 * by default a 1-thread lane and a decoder worker per CPU, for either backend.
 */
export function engineSettings(options: ClassifierOptions, argv: { lanes?: number; decodeWorkers?: number; decodeTimeoutMs: number }): EngineSettings {
  for (const [flag, value] of [['lanes', argv.lanes], ['decode-workers', argv.decodeWorkers], ['decode-timeout-ms', argv.decodeTimeoutMs]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new Error(`--${flag} must be an integer ≥ 1, got ${value}`);
  }
  const cpus = availableCpus();
  const lanes = argv.lanes ?? cpus;
  return { threads: options.threads ?? Math.max(1, Math.floor(cpus / lanes)), lanes, decodeWorkers: argv.decodeWorkers ?? cpus, decodeTimeoutMs: argv.decodeTimeoutMs };
}
