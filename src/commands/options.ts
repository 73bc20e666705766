// Options shared by every command that runs the model, so predict, serve and bench agree.
import type { Argv } from 'yargs';
import { BACKENDS, type BackendName } from '../backend.js';
import type { ClassifierOptions } from '../classifier.js';
import { DECODER_NAMES, DEFAULT_MAX_PIXELS, type DecoderName } from '../image/types.js';

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
    .option('decoder', { choices: DECODER_NAMES, default: 'jimp' as DecoderName, describe: 'Image decoder' })
    .option('threads', { type: 'number', describe: 'Intra-op threads (default: CPUs available to this process)' })
    .option('optimize', { type: 'boolean', default: true, describe: 'Graph optimisation at load (--no-optimize to turn off)' })
    .option('max-pixels', { type: 'number', default: DEFAULT_MAX_PIXELS, describe: 'Refuse images with more pixels, before decoding' })
    .option('exact-decode', { type: 'boolean', default: false, describe: 'Decode large JPEGs at full size (sharp: by default at the reduced scale PIL\'s draft() picks, ~10× faster)' });
}

export function classifierOptions(argv: {
  backend?: BackendName; model?: string; labels?: string; decoder: DecoderName; threads?: number; optimize: boolean; maxPixels: number; exactDecode: boolean;
}): ClassifierOptions {
  if (argv.threads !== undefined && !(Number.isInteger(argv.threads) && argv.threads >= 1)) {
    throw new Error(`--threads must be a positive integer, got ${argv.threads}`);
  }
  const { backend, model, labels, decoder, threads, optimize, maxPixels, exactDecode } = argv;
  return { backend, model, labels, decoder, threads, optimize, maxPixels, exactDecode };
}
