import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { Classifier } from '../classifier.js';
import { availableCpus } from '../cpus.js';
import { modelFolders } from '../model/repository.js';
import type { ModelSource } from '../server/models.js';
import { DEFAULT_MAX_BATCH } from '../engine/batcher.js';
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS } from '../server/timeouts.js';
import type { DecoderName } from '../image/types.js';
import { relaunchWithFewerArenas, tuneHeapForServing } from '../server/heap.js';
import { classifierOptions, engineOptions, engineSettings, modelOptions } from './options.js';

export const command = 'serve';
export const describe = 'Run the HTTP inference service (v1 JSON API, KServe/Triton v2, metrics, web page)';

const MiB = 1024 * 1024;

export function builder(yargs: Argv) {
  return engineOptions(modelOptions(yargs)) // every flag also as PYTORCH_INFER_<FLAG>, e.g. PYTORCH_INFER_PORT=9000
    // libvips decodes a JPEG in a fifth of jimp's time; jimp (pure JS) stays predict's default.
    .default('decoder', 'sharp' as DecoderName)
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 in a container)' })
    .option('port', { type: 'number', default: 8080, describe: 'Port to listen on (0: any free port)' })
    .option('model-repository', { type: 'string', describe: 'Serve every model folder of DIR, each by its folder name (instead of --model)' })
    .option('default-model', { type: 'string', describe: 'With --model-repository: the model of requests that name none (default: the only model)' })
    .option('enable-model-control', { type: 'boolean', default: false, describe: 'With --model-repository: allow POST /v2/repository/models/{name}/load|unload (folders of DIR only, by name)' })
    .option('model-name', { type: 'string', describe: 'Model name in URLs and answers (default: the folder\'s or model file\'s name)' })
    .option('model-version', { type: 'string', describe: 'Model version reported and accepted in v2 URLs (default: the config\'s version, "1")' })
    .option('max-batch', { type: 'number', default: DEFAULT_MAX_BATCH, describe: 'Images per forward across concurrent requests (1: no batching)' })
    .option('max-delay-ms', { type: 'number', default: 0, describe: 'How long an image may wait at an idle lane for a batch to fill (0: never; under load batches fill while lanes are busy)' })
    .option('max-queue', { type: 'number', default: 256, describe: 'Images accepted and unanswered before new requests get 503' })
    .option('max-body', { type: 'number', default: 32 * MiB, describe: 'Largest request body in bytes (413 beyond)' })
    .option('timeout-ms', { type: 'number', default: 30_000, describe: 'Answer 503 to a request not done by then; 408 to a body not received by then' })
    .option('headers-timeout-ms', { type: 'number', default: HEADERS_TIMEOUT_MS, describe: 'Answer 408 to a request whose headers have not all arrived by then (at most --timeout-ms)' })
    .option('keep-alive-timeout-ms', { type: 'number', default: KEEP_ALIVE_TIMEOUT_MS, describe: 'Close a keep-alive connection idle this long (above a proxy\'s own idle timeout)' })
    .option('api-key', { type: 'string', describe: 'Require Authorization: Bearer <key> on every POST (inference); health, metadata and metrics stay open' })
    .option('api-key-file', { type: 'string', describe: 'Read the API key from this file (e.g. a mounted secret)' })
    .option('protect-metrics', { type: 'boolean', default: false, describe: 'GET /metrics needs the API key too' })
    .option('cors-origin', { type: 'string', array: true, default: [] as string[], describe: 'Let pages of this origin call the service (repeat or comma-separate; * for any); default: none, no CORS headers' })
    .option('log-level', { choices: ['fatal', 'error', 'warn', 'info', 'debug'], default: 'info', describe: 'Server log level' })
    .example('$0 serve --decoder jimp --port 9000', 'serve on port 9000 with the pure-JS decoder')
    .example('$0 serve --model-repository models/ --default-model resnet', 'serve every folder of models/, /v1/predict?model=NAME')
    .example('PYTORCH_INFER_MAX_BATCH=1 $0 serve', 'serve without batching');
}

type Args = Awaited<ReturnType<typeof builder>['argv']>;

export async function handler(argv: Args): Promise<void> {
  for (const flag of ['port', 'maxBatch', 'maxDelayMs', 'maxQueue', 'maxBody', 'timeoutMs', 'headersTimeoutMs', 'keepAliveTimeoutMs'] as const) {
    const value = argv[flag];
    const min = flag === 'port' || flag === 'maxDelayMs' ? 0 : 1;
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) throw new Error(`--${kebab(flag)} must be an integer ≥ ${min}, got ${value}`);
  }
  relaunchWithFewerArenas();
  tuneHeapForServing();
  const options = classifierOptions(argv);
  const repository = argv.modelRepository;
  if (repository === undefined) {
    for (const flag of ['defaultModel', 'enableModelControl'] as const) if (argv[flag]) throw new Error(`--${kebab(flag)} needs --model-repository`);
  } else {
    for (const flag of ['model', 'labels', 'modelName', 'modelVersion'] as const) {
      if (argv[flag] !== undefined) throw new Error(`--${kebab(flag)} does not go with --model-repository: each folder has its model, labels.txt and config.json, and its name`);
    }
  }
  const single = engineSettings(options, argv);
  const settings = {
    ...options,
    // In a repository, each model has these threads and lanes.
    ...(repository === undefined ? single : { decodeWorkers: argv.decodeWorkers ?? (await repositoryDecodeWorkers(repository)), decodeTimeoutMs: argv.decodeTimeoutMs }),
    modelRepository: repository,
    defaultModel: argv.defaultModel,
    enableModelControl: argv.enableModelControl || undefined,
    host: argv.host,
    port: argv.port,
    modelName: argv.modelName,
    modelVersion: argv.modelVersion,
    maxBatch: argv.maxBatch,
    maxDelayMs: argv.maxDelayMs,
    maxQueue: argv.maxQueue,
    maxBody: argv.maxBody,
    timeoutMs: argv.timeoutMs,
    headersTimeoutMs: argv.headersTimeoutMs,
    keepAliveTimeoutMs: argv.keepAliveTimeoutMs,
  };
  // fastify loads only for serve: the other commands start ~0.15 s sooner without it.
  const [{ createServer }, { parseCorsOrigins }] = await Promise.all([import('../server/app.js'), import('../server/access.js')]);
  const apiKey = await readApiKey(argv.apiKey, argv.apiKeyFile);
  const access = { apiKey, protectMetrics: argv.protectMetrics, corsOrigins: parseCorsOrigins(argv.corsOrigin) };
  console.log(`pytorch-infer serve: ${Object.entries(settings).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(' ')} apiKey=${apiKey ? 'set' : 'none'} corsOrigins=${access.corsOrigins.join(',') || 'none'}`);
  if (!apiKey && !isLoopback(argv.host)) {
    console.warn(`warning: serving on ${argv.host} without an API key: anyone who reaches this address can run inference (--api-key or PYTORCH_INFER_API_KEY)`);
  }

  const source: ModelSource = repository === undefined
    ? await Classifier.create({ ...options, threads: single.threads, lanes: single.lanes })
    : { repository, classifier: options, threading: { threads: single.threads, lanes: single.lanes }, defaultModel: argv.defaultModel, modelControl: argv.enableModelControl };
  const app = await createServer(source, { ...settings, ...access, logger: { level: argv.logLevel } });
  if (repository !== undefined) {
    const index = await app.inject({ method: 'GET', url: '/v1/models' });
    for (const m of index.json().models as { name: string; state: string; reason: string; backend?: string }[]) {
      console.log(`model ${m.name}: ${m.state}${m.backend ? ` (${m.backend})` : ''}${m.reason ? `: ${m.reason}` : ''}`);
    }
  }
  const address = new URL(await app.listen({ host: argv.host, port: argv.port }));
  // fastify answers with its first address (127.0.0.1 for 0.0.0.0): say the one bound.
  const everywhere = argv.host === '0.0.0.0' || argv.host === '::';
  if (everywhere) address.hostname = argv.host === '::' ? '[::]' : argv.host;
  console.log(`listening on ${address.origin}${everywhere ? ' (every address of this machine)' : ''}`);

  const shutdown = async (signal: string) => {
    console.log(`${signal}: not ready, finishing requests in flight`);
    await app.close();
    console.log('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * Decoder workers of each model of a repository: the CPUs shared out over its folders (at least 1
 * each), so a repository runs as many decode threads as one model does. Measured: two busy models
 * with 2 workers each cost 1.12× one model alone in CPU-ms per image, with 1 each 1.04×
 * (docs/models.md).
 */
async function repositoryDecodeWorkers(dir: string): Promise<number> {
  return Math.max(1, Math.floor(availableCpus() / Math.max(1, (await modelFolders(dir)).length)));
}

/** --api-key or the first line of --api-key-file; empty means none (an unset variable in compose gives ''). */
async function readApiKey(key: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (key && file) throw new Error('give --api-key or --api-key-file, not both');
  if (!file) return key || undefined;
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read --api-key-file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const line = text.split(/\r?\n/)[0].trim();
  if (!line) throw new Error(`--api-key-file ${file} is empty`);
  return line;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
